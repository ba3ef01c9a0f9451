"""The `packages-api` command: serve, migrate, and manage API tokens."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated, NoReturn, TypeVar

import typer
import uvicorn
from alembic.util.exc import CommandError
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrate as migrations
from app.config import Settings, get_settings
from app.db import begin_writing, create_engine, create_sessionmaker
from app.demo.command import make_demo_command, prepare_directory
from app.errors import AppError
from app.observability.logs import configure_logging
from app.observability.prometheus import private_multiprocess_dir
from app.refresh.command import make_refresh_command
from app.repositories.counts import recount
from app.repositories.search import SearchRepository
from app.repositories.tokens import SCOPES, TokenRepository
from app.transfer.commands import export_command, import_command

cli = typer.Typer(help="A package directory API, compatible with djangopackages.org API v4.")
tokens_cli = typer.Typer(help="Create, list and revoke API tokens for writes.")
cli.add_typer(tokens_cli, name="tokens")
search_cli = typer.Typer(help="Maintain the search index.")
cli.add_typer(search_cli, name="search")

T = TypeVar("T")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _settings() -> Settings:
    """The settings, or what is wrong with them on stderr (not a traceback). Every command
    starts here, so every command logs as `serve` does (LOG_FORMAT, LOG_LEVEL, redaction)."""
    try:
        settings = get_settings()
    except ValidationError as error:
        problems = [
            f"{str(problem['loc'][0]).upper() if problem['loc'] else 'settings'}: {problem['msg']}"
            for problem in error.errors()
        ]
        raise _fail("invalid settings:\n  " + "\n  ".join(problems)) from None
    configure_logging(settings)
    return settings


def _open_sqlite(settings: Settings) -> None:
    """Open the SQLite file once with the standard driver, so a path that cannot be opened
    fails plainly here. After a failed open, aiosqlite's worker thread may report into an
    event loop already closed, a stray traceback (omnilib/aiosqlite#241)."""
    url = make_url(settings.database_url.get_secret_value())
    if url.database and url.database != ":memory:":
        sqlite3.connect(url.database, uri=url.query.get("uri") == "true").close()


@contextmanager
def _database(settings: Settings) -> Iterator[None]:
    """An unusable database is one line on stderr (password hidden), not a traceback."""
    try:
        if settings.is_sqlite:
            _open_sqlite(settings)
        yield
    except (DBAPIError, OSError, sqlite3.Error) as error:
        # asyncpg's refused and timed-out connections arrive as plain OSErrors.
        detail = error.orig if isinstance(error, DBAPIError) else error
        url = make_url(settings.database_url.get_secret_value())
        raise _fail(f"database {url.render_as_string(hide_password=True)}: {detail}") from None


def _run_in_session(work: Callable[[AsyncSession], Awaitable[T]], *, writes: bool = True) -> T:
    """Run `work` in one transaction on a migrated database: commit on success. A writer's
    transaction begins as one (app.db.begin_writing), so on SQLite it waits for `serve`'s
    writes instead of failing with "database is locked"."""
    settings = _settings()

    async def go() -> T:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                if writes:
                    await begin_writing(session)
                return await work(session)
        finally:
            await engine.dispose()

    with _database(settings):
        if settings.migrate_on_start:
            migrations.upgrade(settings)
        try:
            return asyncio.run(go())
        except AppError as error:
            raise _fail(error.detail) from None


WORKER_HEALTHCHECK_SECONDS = 30


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


@cli.command()
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
    settings = _settings()
    migrated = settings.migrate_on_start if migrate is None else migrate
    if migrated or demo:
        with _database(settings):
            if migrated:
                migrations.upgrade(settings)
            # The demo (app/demo/command.py): loaded with --demo, else a hint when empty.
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


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations up to REVISION (default: the newest). Only upgrades."""
    settings = _settings()
    with _database(settings):
        try:
            migrations.upgrade(settings, revision)
        except CommandError as error:  # an unknown revision, say
            raise _fail(str(error)) from None
        current = asyncio.run(_current_revision(settings))
    typer.echo(f"database at revision {current}", err=True)


async def _current_revision(settings: Settings) -> str | None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return await migrations.current_revision(connection)
    finally:
        await engine.dispose()


@tokens_cli.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="A unique name, e.g. who or what uses it.")],
    scope: Annotated[
        str, typer.Option(help="write, or admin (also edits locked grids).")
    ] = "write",
) -> None:
    """Create a token and print it alone on stdout (it is shown only this once)."""
    if scope not in SCOPES:
        raise _fail(f"--scope must be one of: {', '.join(SCOPES)}")
    if not name.strip() or len(name) > 100:
        raise _fail("NAME must be 1 to 100 characters")

    async def work(session: AsyncSession) -> str:
        _, plain = await TokenRepository(session).create(name.strip(), scope)
        return plain

    typer.echo(_run_in_session(work))


@tokens_cli.command("list")
def tokens_list() -> None:
    """List tokens (never their text): name, scope, created, last used, revoked."""

    async def work(session: AsyncSession) -> list[str]:
        rows = []
        for token in await TokenRepository(session).list():
            used = token.last_used.isoformat(timespec="seconds") if token.last_used else "never"
            state = (
                f"revoked {token.revoked.isoformat(timespec='seconds')}"
                if token.revoked
                else "active"
            )
            created = token.created.isoformat(timespec="seconds")
            rows.append(f"{token.name}\t{token.scope}\t{created}\t{used}\t{state}")
        return rows

    rows = _run_in_session(work, writes=False)
    typer.echo("name\tscope\tcreated\tlast_used\tstate")
    for row in rows:
        typer.echo(row)


@tokens_cli.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token: the next request that uses it gets 401."""

    async def work(session: AsyncSession) -> bool:
        _token, newly = await TokenRepository(session).revoke(name)
        return newly

    newly = _run_in_session(work)
    typer.echo(f"revoked {name}" if newly else f"{name} was already revoked", err=True)


@search_cli.command("rebuild")
def search_rebuild() -> None:
    """Write every package's and grid's search document again, in one transaction.

    A repair tool: database triggers keep search current in every write's own transaction.
    It is for a dump restored without the search rows, or a SQLite FTS index in doubt.
    It also recounts the tables whose counts triggers keep (`table_counts`)."""

    async def work(session: AsyncSession) -> int:
        await recount(session)
        return await SearchRepository(session).rebuild()

    count = _run_in_session(work)
    typer.echo(f"search index rebuilt: {count} documents", err=True)


# Import and export (app/transfer).
cli.command("import")(import_command)
cli.command("export")(export_command)
# The metrics refresher's command (app/refresh/command.py).
cli.command("refresh")(make_refresh_command(_settings, _database))
# The demo directory (app/demo/).
cli.command("demo")(make_demo_command(_settings, _database))


def main() -> None:
    cli()
