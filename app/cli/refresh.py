"""`packages-api refresh`: one refresh run from the command line, with the refresher's code.

It is the periodic loop's `Refresher.run` with a selection from the options, a progress
bar on stderr and a summary on stdout. Several may run at once, and alongside `serve`:
the leases keep them from refreshing one package twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections import Counter
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress

from app import migrate as migrations
from app.cli.common import database, load_settings
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.refresh import repository
from app.refresh.apply import PackageOutcome
from app.refresh.lifespan import default_open_forges
from app.refresh.refresher import Refresher, RunSummary
from app.refresh.repository import Selection

# Exit codes: 0 the run went through (packages may have failed: see the summary);
# 1 a run-level failure (bad options, unknown slugs, the database); 130 interrupted.
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class _Bar:
    """The refresher's progress reports on a rich progress bar."""

    def __init__(self, progress: RichProgress) -> None:
        self.progress = progress
        self.task = progress.add_task("refreshing", total=None)
        self.counts: Counter[PackageOutcome] = Counter()

    def total(self, count: int) -> None:
        self.progress.update(self.task, total=count)

    def advance(self, slug: str, outcome: PackageOutcome) -> None:
        self.counts[outcome] += 1
        failed = self.counts[PackageOutcome.FAILED]
        self.progress.update(self.task, advance=1, description=f"{slug[:30]:<30} failed {failed}")


def _summary_lines(summary: RunSummary, pending_wait: float) -> list[str]:
    outcomes = ", ".join(f"{o.value} {summary.outcomes[o]}" for o in PackageOutcome)
    usage = summary.usage
    by_forge = ", ".join(f"{name} {count}" for name, count in sorted(usage.requests.items()))
    not_modified = sum(usage.not_modified.values())
    lines = [
        f"packages: {summary.packages} ({outcomes}) in {summary.seconds:.1f} s",
        f"requests: {summary.requests} ({not_modified} not modified)"
        + (f": {by_forge}" if by_forge else ""),
        f"GitHub rate-limit points: {usage.github_points}",
    ]
    pending = summary.outcomes[PackageOutcome.PENDING]
    if pending:
        lines.append(
            f"still pending: {pending} (a forge was still computing their figures after "
            f"REFRESH_PENDING_WAIT, {pending_wait:g} s; what came is kept, the next run asks "
            "again)"
        )
    return lines


async def _refresh(settings: Settings, selection: Selection, console: Console) -> RunSummary:
    engine = create_engine(settings)
    summary = RunSummary(started=dt.datetime.now(dt.UTC))
    try:
        sessionmaker = create_sessionmaker(
            engine, changes_retention_days=settings.changes_retention_days
        )
        if selection.slugs:
            async with sessionmaker() as session:
                missing = await repository.missing_slugs(session, selection.slugs)
            if missing:
                summary.failure = f"no package has the slug {', '.join(map(repr, missing))}"
                return summary
        async with default_open_forges()(settings) as forges:
            refresher = Refresher(sessionmaker, forges, settings)
            main = asyncio.current_task()
            loop = asyncio.get_running_loop()

            def on_signal() -> None:
                # First Ctrl+C: claim nothing more, let batches in flight finish.
                # Second: abandon them (writes under way still complete).
                if refresher.stopping and main is not None:
                    main.cancel()
                else:
                    console.print("stopping: finishing the packages in flight (again: now)")
                    refresher.request_stop()

            for stop in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(stop, on_signal)
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            try:
                # A bar is for people: in a pipe or a log it would only be noise.
                with RichProgress(
                    *columns, console=console, transient=False, disable=not console.is_terminal
                ) as bar:
                    await refresher.run(
                        selection,
                        _Bar(bar),
                        summary,
                        pending_wait=settings.refresh_pending_wait,
                    )
            except asyncio.CancelledError:
                summary.interrupted = True
            finally:
                for stop in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(stop)
                await refresher.stop(grace=0)
    finally:
        await engine.dispose()
    summary.finished = summary.finished or dt.datetime.now(dt.UTC)
    return summary


def refresh(
    all_packages: Annotated[
        bool,
        typer.Option("--all", help="Every package, whatever its age or back-off after failures."),
    ] = False,
    slug: Annotated[
        list[str] | None,
        typer.Option(help="This package (repeatable), whatever its age or back-off."),
    ] = None,
    stale_hours: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Packages fetched more than H hours ago "
            "(default REFRESH_STALE_HOURS, 24); those in back-off wait.",
        ),
    ] = None,
) -> None:
    """Refresh package metrics from the forges and PyPI now.

    Progress on stderr, then a summary: outcomes, requests made, GitHub points used,
    and how many packages a forge was still computing after REFRESH_PENDING_WAIT.

    Exit 0 when the run went through (failed packages are retried with back-off).

    Exit 1 on a run-level failure (unknown slug, database error), 130 if interrupted.
    """
    if sum([all_packages, bool(slug), stale_hours is not None]) > 1:
        typer.echo("error: choose one of --all, --slug, --stale-hours", err=True)
        raise typer.Exit(EXIT_FAILED)
    settings = load_settings()
    if all_packages:
        selection = Selection(stale_after=None, respect_backoff=False)
    elif slug:
        slugs = tuple(dict.fromkeys(s.strip() for s in slug if s.strip()))
        selection = Selection(stale_after=None, respect_backoff=False, slugs=slugs)
    else:
        hours = settings.refresh_stale_hours if stale_hours is None else stale_hours
        selection = Selection(stale_after=dt.timedelta(hours=hours))
    console = Console(stderr=True)
    with database(settings):
        if settings.migrate_on_start:
            migrations.upgrade(settings)
        summary = asyncio.run(_refresh(settings, selection, console))
    for line in _summary_lines(summary, settings.refresh_pending_wait):
        typer.echo(line)
    if summary.failure:
        typer.echo(f"error: the run stopped: {summary.failure}", err=True)
        raise typer.Exit(EXIT_FAILED)
    if summary.interrupted:
        typer.echo("interrupted: the packages not reached wait for the next run", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
