"""`packages-api sync SOURCE`: keep this database a mirror of another directory."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from app import migrate as migrations
from app.cli.common import database, fail, load_settings
from app.errors import AppError
from app.transfer.source_http import FetchError
from app.transfer.sync import SyncError, run_sync


def sync(
    source: Annotated[
        str,
        typer.Argument(help="The source's API root URL (e.g. https://example.org/api/v4/)."),
    ],
    retries: Annotated[int, typer.Option(min=0, max=10, help="Retries of a failed request.")] = 3,
) -> None:
    """Bring this database up to date with SOURCE; safe to run from cron.

    Against a packages-api it applies only the changes since the last run (its change feed);
    otherwise, or the first time, or when the last run is older than the feed keeps, it runs
    a full import. Each page of changes commits with its position: an interrupted run
    resumes there. A run finding another one at work on SOURCE skips.

    Exit status: 0 up to date (or skipped), 1 stopped by an error.
    """
    settings = load_settings()
    if not source.lower().startswith(("http://", "https://")):
        raise fail(f"{source}: SOURCE is an API root URL (http or https)")
    logging.getLogger("app.forges.http").setLevel(logging.WARNING)
    with database(settings):
        if settings.migrate_on_start:
            migrations.upgrade(settings)
        try:
            result = asyncio.run(run_sync(settings, source, attempts=retries + 1))
        except (SyncError, FetchError) as error:
            raise fail(str(error)) from None
        except AppError as error:
            raise fail(f"a change could not be applied: {error.detail}") from None
    typer.echo(result.line(source))
