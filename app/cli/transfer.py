"""`packages-api import SOURCE` and `packages-api export FILE`."""

from __future__ import annotations

import asyncio
import logging
import sys
from types import TracebackType
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from stamina.instrumentation import RetryDetails, RetryHook, set_on_retry_hooks

from app import migrate as migrations
from app.cli.common import database, fail, load_settings
from app.transfer.format import FormatError
from app.transfer.jobs import ImportResult, OutputError, open_source, run_export, run_import
from app.transfer.records import KINDS, Kind
from app.transfer.summary import Summary

# Exit status of an import that completed but refused some records (without --atomic).
EXIT_REFUSED = 2


class ProgressBars:
    """One bar per resource on stderr; nothing at all when quiet or stderr is not a TTY."""

    def __init__(self, *, quiet: bool) -> None:
        console = Console(stderr=True)
        self.enabled = not quiet and console.is_terminal
        self.bars = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            disable=not self.enabled,
            transient=False,
        )
        self.tasks: dict[Kind, TaskID] = {}

    def __enter__(self) -> ProgressBars:
        self.bars.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.bars.__exit__(kind, error, traceback)

    def _task(self, kind: Kind) -> TaskID:
        if kind not in self.tasks:
            self.tasks[kind] = self.bars.add_task(kind, total=None)
        return self.tasks[kind]

    def total(self, kind: Kind, total: int | None) -> None:
        self.bars.update(self._task(kind), total=total)

    def advance(self, kind: Kind, count: int) -> None:
        self.bars.advance(self._task(kind), count)


def _say_retry(console: Console) -> RetryHook:
    """stamina's default hook logs a bare event name; a user wants to know what is retried."""

    def hook(details: RetryDetails) -> None:
        error = details.caused_by
        request = getattr(getattr(error, "response", None), "request", None) or getattr(
            error, "request", None
        )
        what = f"GET {request.url}" if isinstance(request, httpx.Request) else "a request"
        console.print(
            f"retrying {what} ({error or type(error).__name__}) in {details.wait_for:.1f} s",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    return hook


def summary_text(summary: Summary) -> str:
    """The table printed after an import, and every refusal and warning with its reason."""
    lines = [f"{'resource':<12} {'created':>8} {'updated':>8} {'unchanged':>10} {'refused':>8}"]
    for kind in KINDS:
        counts = summary.counts[kind]
        lines.append(
            f"{kind:<12} {counts.created:>8} {counts.updated:>8} "
            f"{counts.unchanged:>10} {counts.refused:>8}"
        )
    if summary.refused:
        lines.append("refused:")
        lines.extend(f"  {p.kind} {p.label}: {p.reason}" for p in summary.refused)
    if summary.warnings:
        lines.append("warnings:")
        lines.extend(f"  {p.kind} {p.label}: {p.reason}" for p in summary.warnings)
    return "\n".join(lines)


def _outcome(result: ImportResult) -> tuple[str, int]:
    """The closing line and the exit status."""
    refused = len(result.summary.refused)
    if not result.committed:
        why = result.error or f"{refused} record(s) refused"
        return f"rolled back (--atomic): {why}; nothing was changed", 1
    if result.error:
        return (
            f"error: {result.error}\nstopped there: what is counted above was loaded and "
            "committed; the rest of that list and everything after it was not "
            "(run the import again to continue, or use --atomic for all or nothing)",
            1,
        )
    if refused:
        return f"committed; {refused} record(s) refused (see above)", EXIT_REFUSED
    return "committed", 0


def import_command(
    source: Annotated[
        str,
        typer.Argument(
            help="An API root URL (e.g. https://djangopackages.org/api/v4/), or a file "
            "written by `export` (`-` for stdin)."
        ),
    ],
    atomic: Annotated[
        bool,
        typer.Option(
            "--atomic", help="All or nothing: any refused record or fetch error changes nothing."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    retries: Annotated[
        int, typer.Option(min=0, max=10, help="Retries of a failed request (HTTP sources).")
    ] = 3,
) -> None:
    """Import a whole directory from an API root URL or an export file.

    Loads categories, grids, packages and their metrics; from a packages-api, features and cells.

    An upsert by id: a second run changes nothing. Conflicts are refused, each with its reason.

    Exit status:
    0  all loaded
    2  loaded, but some records were refused
    1  stopped by an error (with --atomic: nothing changed)
    """
    # Typer's rich help keeps a docstring's single line breaks: one paragraph, one line.
    settings = load_settings()
    loader_source = open_source(source, attempts=retries + 1)
    try:
        # A file that cannot be read (or is no export) loads nothing: one line, no table.
        loader_source.check()
    except FormatError as error:
        raise fail(str(error)) from None
    set_on_retry_hooks([_say_retry(Console(stderr=True))])
    # Upstream's per-request log lines are for a server's logs; here each retry is said
    # above, and the outcome in one line at the end.
    logging.getLogger("app.forges.http").setLevel(logging.WARNING)
    with database(settings):
        if settings.migrate_on_start:
            migrations.upgrade(settings)
        with ProgressBars(quiet=quiet) as bars:
            result = asyncio.run(run_import(settings, loader_source, atomic=atomic, progress=bars))
    if result.error and result.summary.is_empty:
        # Stopped before its first record (an unreachable root): a table of zeros and advice
        # to continue would say nothing true.
        raise fail(f"{result.error}; nothing was imported")
    typer.echo(summary_text(result.summary))
    message, code = _outcome(result)
    typer.echo(message, err=code != 0)
    raise typer.Exit(code)


def export_command(
    file: Annotated[str, typer.Argument(help="Where to write the JSON document (`-`: stdout).")],
) -> None:
    """Export the whole directory to one JSON document that `import` reads back.

    The format is described in docs/export-format.md. API tokens are never exported.
    """
    settings = load_settings()
    with database(settings):
        if settings.migrate_on_start:
            migrations.upgrade(settings)
        try:
            counts = asyncio.run(run_export(settings, file))
        except OutputError as error:
            # Only the file's own errors: a database failure is database()'s to report.
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
    written = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    target = "stdout" if file == "-" else file
    print(f"exported {written} to {target}", file=sys.stderr)
