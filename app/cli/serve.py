"""`packages-api serve` and `packages-api migrate`."""

from __future__ import annotations

import asyncio
import signal
from types import FrameType
from typing import Annotated, NoReturn

import typer
import uvicorn
from alembic.util.exc import CommandError

from app import migrate as migrations
from app.cli.common import database, fail, load_settings
from app.cli.demo import prepare_directory
from app.config import Settings
from app.db import create_engine
from app.observability.prometheus import private_multiprocess_dir

WORKER_HEALTHCHECK_SECONDS = 30


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (env HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (env WORKERS).")] = None,
    migrate: Annotated[
        bool | None,
        typer.Option(
            help="Apply migrations before serving (env MIGRATE_ON_START, default true).",
            show_default=False,
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Load the demo directory first if the database's is empty (`demo`)."
        ),
    ] = False,
) -> None:
    """Serve the API (http://127.0.0.1:8000 by default), migrating the database first.

    SIGTERM or Ctrl+C shut it down gracefully: in-flight requests finish, then exit 0.
    """
    settings = load_settings()
    migrated = settings.migrate_on_start if migrate is None else migrate
    if migrated or demo:
        with database(settings):
            if migrated:
                migrations.upgrade(settings)
            # The demo (app/cli/demo.py): loaded with --demo, else a hint when empty.
            prepare_directory(settings, demo=demo, migrated=migrated)
    workers = workers or settings.workers
    # uvicorn re-raises the stop signal after its graceful shutdown, so a plain SIGTERM would
    # end in "killed by signal" (143). A stop we were asked for and completed is a success.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _exit_cleanly)
    # Several workers share their metrics through files (app.observability.prometheus).
    with private_multiprocess_dir(workers):
        uvicorn.run(
            "app.main:create_served_app",
            factory=True,
            host=host or settings.host,
            port=port if port is not None else settings.port,
            workers=workers,
            log_level=settings.log_level,
            # Our logging (app.observability.logs), one access line per request from the app.
            log_config=None,
            access_log=False,
            # Forwarded headers are ours to judge (TRUSTED_PROXIES): app.observability.proxy.
            proxy_headers=False,
            server_header=False,
            # SIGTERM: stop accepting, give requests in flight this long, then stop.
            timeout_graceful_shutdown=settings.shutdown_timeout,
            # A worker that has not answered the supervisor's ping in this long is killed;
            # uvicorn's 5 s kills workers still importing on a busy or throttled machine.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations up to REVISION (default: the newest). Only upgrades."""
    settings = load_settings()
    with database(settings):
        try:
            migrations.upgrade(settings, revision)
        except CommandError as error:  # an unknown revision, say
            raise fail(str(error)) from None
        current = asyncio.run(_current_revision(settings))
    typer.echo(f"database at revision {current}", err=True)


async def _current_revision(settings: Settings) -> str | None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return await migrations.current_revision(connection)
    finally:
        await engine.dispose()
