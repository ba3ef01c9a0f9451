"""Database plumbing: the declarative base, the engine factory and the one commit point."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import Request
from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from app.config import Settings

# Stable constraint names, so migrations can drop and alter them on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")

# HTTP methods that may write; their SQLite transactions take the write lock up front.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# True while a write request's unit of work is open (get_session): the SQLite begin hook
# then starts its transaction with BEGIN IMMEDIATE, whenever the first statement comes.
# Lazily, so the token check (app.auth) runs first, in a read of its own, and a request
# with a bad token never queues for the write lock.
_WRITE_INTENT: ContextVar[bool] = ContextVar("packages_api_write_intent", default=False)


@contextmanager
def without_write_intent() -> Iterator[None]:
    """Transactions begun inside are plain reads, even during a write request."""
    token = _WRITE_INTENT.set(False)
    try:
        yield
    finally:
        _WRITE_INTENT.reset(token)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes on both dialects: SQLite stores naive UTC, PostgreSQL timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_engine(settings: Settings, **overrides: Any) -> AsyncEngine:
    url = settings.database_url.get_secret_value()
    # Bound values stay out of error messages and logs: they may be anyone's data.
    overrides.setdefault("hide_parameters", True)
    if settings.is_sqlite:
        engine = create_async_engine(url, **overrides)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        # A connection the server dropped (restart, failover) is replaced, not handed out.
        "pool_pre_ping": True,
    }
    options.update(overrides)
    return create_async_engine(url, **options)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, and transactions that SQLite really honours.

    pysqlite's default begins transactions lazily and breaks SAVEPOINT; we disable its
    handling and emit BEGIN ourselves (the recipe in SQLAlchemy's SQLite dialect docs).
    Write requests use BEGIN IMMEDIATE so a read-then-write never fails on an upgraded lock.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("sqlite_write") or _WRITE_INTENT.get()
        mode = "IMMEDIATE" if write else ""
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commit when the handler returns, roll back when it raises.

    This is the only place a request commits. It runs with scope="function" (see deps.py),
    so a failed commit still turns into an error response instead of a lost 2xx.
    """
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        _WRITE_INTENT.set(request.method in UNSAFE_METHODS)
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
        finally:
            _WRITE_INTENT.set(False)
