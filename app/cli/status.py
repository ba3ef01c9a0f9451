"""`packages-api status`: the status resource as tables, from this database or a deployment.

Without `--api` it reads the database the settings name (what GET /api/v4/status/ of a
server on it answers); with `--api URL` it asks that deployment. `--json` prints the
resource as JSON instead of tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.common import fail, load_settings, run_in_session
from app.columns import utcnow
from app.links import API_PREFIX, Links
from app.schemas.status import Status
from app.services.status import read_facts, shape

STATUS_PATH = f"{API_PREFIX}/status/"
REMOTE_TIMEOUT = 15.0


def _local() -> Status:
    settings = load_settings()
    links = Links(settings.public_base_url.rstrip("/")) if settings.public_base_url else None

    async def work(session: AsyncSession) -> Status:
        facts = await read_facts(session, settings.refresh_stale_hours)
        return shape(
            facts, stale_hours=settings.refresh_stale_hours, links=links, generated_at=utcnow()
        )

    return run_in_session(work, writes=False)


def status_url(api: str) -> str:
    """The status resource of a deployment named by its base URL (or the resource's own)."""
    api = api.rstrip("/")
    if api.endswith(STATUS_PATH.rstrip("/")):
        return f"{api}/"
    if api.endswith(API_PREFIX):
        api = api.removesuffix(API_PREFIX)
    return f"{api}{STATUS_PATH}"


def _remote(api: str) -> Status:
    url = status_url(api)
    try:
        response = httpx.get(url, timeout=REMOTE_TIMEOUT, follow_redirects=True)
    except httpx.HTTPError as error:
        raise fail(f"{url}: {type(error).__name__} {error}") from None
    if response.status_code != 200:
        raise fail(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        return Status.model_validate_json(response.content)
    except ValidationError as error:
        problems = error.error_count()
        raise fail(f"{url} did not answer a status resource: {problems} problems") from None


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return "-"
    ago = (utcnow() - value).total_seconds()
    text = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if ago >= 0:
        return f"{text} ({_span(ago)} ago)"
    return f"{text} (in {_span(-ago)})"


def _relative(value: dt.datetime | None) -> str:
    if value is None:
        return "-"
    ago = (utcnow() - value).total_seconds()
    return f"{_span(ago)} ago" if ago >= 0 else f"in {_span(-ago)}"


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def tables(status: Status) -> list[Table]:
    counts = Table(title="Directory", show_header=False)
    counts.add_column("what")
    counts.add_column("value")
    counts.add_row("packages", str(status.counts.packages))
    counts.add_row("categories", str(status.counts.categories))
    counts.add_row("grids", str(status.counts.grids))
    newest = status.newest_change
    counts.add_row(
        "newest change",
        "-" if newest is None else f"{newest.resource} {newest.id}, {_when(newest.modified)}",
    )

    refresher = status.refresher
    summary = Table(title="Refresher", show_header=False)
    summary.add_column("what")
    summary.add_column("value")
    run = refresher.last_run
    if run is None:
        summary.add_row("last run", "none recorded")
    else:
        summary.add_row("last run", f"{run.outcome}, finished {_when(run.finished)}")
        summary.add_row("  took", _span((run.finished - run.started).total_seconds()))
        summary.add_row("  packages", ", ".join(f"{k} {v}" for k, v in run.packages.items()))
        summary.add_row("  requests", str(run.requests))
        if run.failure:
            summary.add_row("  failure", run.failure)
    summary.add_row(f"due (older than {refresher.stale_hours:g} h)", str(refresher.due))
    summary.add_row("pending (forge computing)", str(refresher.pending))
    summary.add_row("in progress", str(refresher.in_progress))

    summary.add_row("failing", str(sum(refresher.failing.values())))
    for forge, total in refresher.failing.items():
        summary.add_row(f"  {forge}", str(total))

    budgets = Table(
        title="Rate-limit budgets",
        caption=None if refresher.rate_limits else "none reported by any refresh yet",
    )
    for column in ("forge", "host", "resource", "remaining", "limit", "resets", "seen"):
        budgets.add_column(column, justify="right" if column in {"remaining", "limit"} else "left")
    for budget in refresher.rate_limits:
        budgets.add_row(
            budget.forge,
            budget.host,
            budget.resource or "-",
            str(budget.remaining),
            "-" if budget.limit is None else str(budget.limit),
            _relative(budget.resets_at),
            _relative(budget.observed_at),
        )
    return [counts, summary, budgets]


def status(
    api: Annotated[
        str | None,
        typer.Option(
            "--api",
            help="A deployment's base URL (https://packages.example.org): read its "
            "/api/v4/status/ instead of the local database.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON resource.")] = False,
) -> None:
    """How the directory is doing: counts, the refresher (last run, due, pending, failing by
    forge, rate-limit budgets) and the newest change, as GET /api/v4/status/ reports it."""
    current = _remote(api) if api else _local()
    if as_json:
        typer.echo(current.model_dump_json(indent=2))
        return
    console = Console(width=max(Console().width, 100))
    for table in tables(current):
        console.print(table)
