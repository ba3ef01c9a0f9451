"""What every command shares: its settings, a database error as one line, one transaction."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrate as migrations
from app.config import Settings, get_settings
from app.db import begin_writing, create_engine, create_sessionmaker
from app.errors import AppError
from app.observability.logs import configure_logging

T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def load_settings() -> Settings:
    """The settings, or what is wrong with them on stderr (not a traceback). Every command
    starts here, so every command logs as `serve` does (LOG_FORMAT, LOG_LEVEL, redaction)."""
    try:
        settings = get_settings()
    except ValidationError as error:
        problems = [
            f"{str(problem['loc'][0]).upper() if problem['loc'] else 'settings'}: {problem['msg']}"
            for problem in error.errors()
        ]
        raise fail("invalid settings:\n  " + "\n  ".join(problems)) from None
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
def database(settings: Settings) -> Iterator[None]:
    """An unusable database is one line on stderr (password hidden), not a traceback."""
    try:
        if settings.is_sqlite:
            _open_sqlite(settings)
        yield
    except (DBAPIError, OSError, sqlite3.Error) as error:
        # asyncpg's refused and timed-out connections arrive as plain OSErrors.
        detail = error.orig if isinstance(error, DBAPIError) else error
        url = make_url(settings.database_url.get_secret_value())
        raise fail(f"database {url.render_as_string(hide_password=True)}: {detail}") from None


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]], *, writes: bool = True) -> T:
    """Run `work` in one transaction on a migrated database: commit on success. A writer's
    transaction begins as one (app.db.begin_writing), so on SQLite it waits for `serve`'s
    writes instead of failing with "database is locked"."""
    settings = load_settings()

    async def go() -> T:
        engine = create_engine(settings)
        try:
            async with (
                create_sessionmaker(
                    engine, changes_retention_days=settings.changes_retention_days
                )() as session,
                session.begin(),
            ):
                if writes:
                    await begin_writing(session)
                return await work(session)
        finally:
            await engine.dispose()

    with database(settings):
        if settings.migrate_on_start:
            migrations.upgrade(settings)
        try:
            return asyncio.run(go())
        except AppError as error:
            raise fail(error.detail) from None
