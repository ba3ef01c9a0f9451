"""Database plumbing: the engine and session factories, SQLite's writers' queue (the
declarative base and the column types are app.columns'; a request's unit of work is
app.request_session's)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from app.config import Settings

# HTTP methods that may write; their SQLite transactions take the write lock up front.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A pooled connection idle longer than this is pinged before use (see _ping_after_idle).
PING_AFTER_IDLE_SECONDS = 2.0

# True while a write request's unit of work is open (get_session): the SQLite begin hook
# then starts its transaction with BEGIN IMMEDIATE, whenever the first statement comes.
# Lazily, so the token check (app.auth) runs first, in a read of its own, and a request
# with a bad token never queues for the write lock.
_WRITE_INTENT: ContextVar[bool] = ContextVar("packages_api_write_intent", default=False)


def set_write_intent(writing: bool) -> None:
    """From now on, SQLite transactions begin as a writer's (BEGIN IMMEDIATE) when `writing`,
    whenever their first statement comes (a request's unit of work, app.request_session)."""
    _WRITE_INTENT.set(writing)


@contextmanager
def without_write_intent() -> Iterator[None]:
    """Transactions begun inside are plain reads, even during a write request."""
    token = _WRITE_INTENT.set(False)
    try:
        yield
    finally:
        _WRITE_INTENT.reset(token)


def postgres_connect_args(settings: Settings, *, job: bool = False) -> dict[str, Any]:
    """asyncpg's connect arguments: a connect timeout, and the session's timeouts.

    Requests and the refresher get DB_STATEMENT_TIMEOUT_MS, DB_LOCK_TIMEOUT_MS and
    DB_IDLE_IN_TRANSACTION_TIMEOUT_MS; a cancelled statement (57014, 55P03) is a 503.
    Jobs (`import`, `export`) read a source or write a file inside one long transaction,
    so they get only DB_JOB_STATEMENT_TIMEOUT_MS. Migrations use their own engine.
    """
    if job:
        statement, lock, idle = settings.db_job_statement_timeout_ms, 0, 0
    else:
        statement = settings.db_statement_timeout_ms
        lock = settings.db_lock_timeout_ms
        idle = settings.db_idle_in_transaction_timeout_ms
    args: dict[str, Any] = {
        "timeout": settings.db_connect_timeout,
        "server_settings": {
            "statement_timeout": str(statement),
            "lock_timeout": str(lock),
            "idle_in_transaction_session_timeout": str(idle),
        },
    }
    if statement:
        # The server cancels a slow statement; this bounds the wait for a server that no
        # longer answers at all (a dead host, a cut network), which cannot cancel anything.
        args["command_timeout"] = statement / 1000 + _COMMAND_TIMEOUT_MARGIN
    return args


# Seconds asyncpg waits past the statement timeout before giving up on the server.
_COMMAND_TIMEOUT_MARGIN = 5.0


def load_json(text: str | bytes) -> Any:
    """JSON columns as read: orjson, some 5x faster than json.loads on a list page's
    participants and weekly commits; json.loads for what orjson refuses and the column may
    still hold (integers past 64 bits, a lone surrogate escape in SQLite's text)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def create_engine(settings: Settings, *, job: bool = False, **overrides: Any) -> AsyncEngine:
    """The engine of a process; `job=True` for long batch jobs (see postgres_connect_args)."""
    url = settings.database_url.get_secret_value()
    # Bound values stay out of error messages and logs: they may be anyone's data.
    overrides.setdefault("hide_parameters", True)
    overrides.setdefault("json_deserializer", load_json)
    if settings.is_sqlite:
        engine = create_async_engine(url, **overrides)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        "connect_args": postgres_connect_args(settings, job=job),
    }
    options.update(overrides)
    engine = create_async_engine(url, **options)
    _ping_after_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def _ping_after_idle(engine: AsyncEngine, seconds: float) -> None:
    """A connection the server dropped (restart, failover, idle timeout) is replaced, not
    handed out: checked when it has idled in the pool, where a drop goes unnoticed.

    SQLAlchemy's pool_pre_ping checks every checkout, which on asyncpg is three round trips
    (BEGIN, an empty query, ROLLBACK): under load, more than the request's own queries. A
    connection back from a request moments ago was just seen alive; one the server drops
    while busy fails that statement, and SQLAlchemy then invalidates the whole pool. This
    is SQLAlchemy's documented custom pessimistic check (raise DisconnectionError on
    checkout, and the pool retries with a new connection).
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:  # whatever the driver raises, the connection is gone
            raise DisconnectionError("connection dropped while idle in the pool") from error


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, and transactions that SQLite really honours.

    pysqlite's default begins transactions lazily and breaks SAVEPOINT; we disable its
    handling and emit BEGIN ourselves (the recipe in SQLAlchemy's SQLite dialect docs).
    Write requests use BEGIN IMMEDIATE so a read-then-write never fails on an upgraded lock.
    """
    # A date or datetime bound without a column type (a `text()` statement's parameter) is
    # stored as sqlite3's default adapters always stored it; Python 3.12 deprecated those
    # defaults, so they are registered here, as its documentation recommends.
    sqlite3.register_adapter(dt.date, _date_as_sqlite_text)
    sqlite3.register_adapter(dt.datetime, _datetime_as_sqlite_text)

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


def _date_as_sqlite_text(value: dt.date) -> str:
    return value.isoformat()


def _datetime_as_sqlite_text(value: dt.datetime) -> str:
    return value.isoformat(" ")


class SqliteWriters:
    """This process's SQLite writers (requests, the refresher), one at a time, in order.

    SQLite lets one transaction write at a time, and its busy handler makes the others
    poll with sleeps of up to 100 ms: racing writers of one process then wait far longer
    than the lock is held, and the unlucky ones run out of the busy timeout while later
    ones go first. Under load (bench/soak.py, 24 connections and the refresher writing)
    that was 503s for ~0.2% of the requests. Queued here first come, first served, each
    writer of a process takes the lock as soon as the one before it lets go, and SQLite's
    busy timeout is left to arbitrate between processes.
    """

    def __init__(self, timeout_ms: int) -> None:
        self.timeout = timeout_ms / 1000
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def turn(self, *, patient: bool = False) -> AsyncIterator[None]:
        """Hold the process's write turn for the block. A request waits at most the busy
        timeout, then gets TimeoutError (a 503, as SQLite's own busy error would be);
        `patient` background work waits as long as it takes."""
        if patient or not self._lock.locked():
            await self._lock.acquire()
        else:
            try:
                async with asyncio.timeout(self.timeout):
                    await self._lock.acquire()
            except TimeoutError:
                raise TimeoutError(
                    f"waited {self.timeout:g} s for this process's turn to write to SQLite"
                ) from None
        try:
            yield
        finally:
            self._lock.release()


def sqlite_writers(settings: Settings) -> SqliteWriters | None:
    """The writers' queue a process shares, or None on PostgreSQL (row locks suffice)."""
    return SqliteWriters(settings.sqlite_busy_timeout_ms) if settings.is_sqlite else None


async def begin_writing(session: AsyncSession) -> None:
    """Begin `session`'s transaction as a writer's: BEGIN IMMEDIATE on SQLite (nothing more
    on PostgreSQL, where row locks serialize writers).

    Every transaction that may write must begin this way on SQLite. One begun DEFERRED
    holds a read snapshot by its first write, and SQLite answers a reader's attempt to
    write while another connection writes with SQLITE_BUSY at once: the busy handler is
    not called (waiting could deadlock), so the busy timeout never applies and the user
    sees "database is locked". Writes to `packages` always read first on a connection that
    has not used the search index since another one committed: FTS5 re-reads its
    configuration then. BEGIN IMMEDIATE takes the write lock before reading anything, so
    it waits its turn like any writer."""
    await session.connection(execution_options={"sqlite_write": True})


def create_sessionmaker(
    engine: AsyncEngine, *, changes_retention_days: int | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions of the app, the importer and the refresher. Their writes record change
    events in the same transaction (app.changes.record)."""
    # Imported here: the recorder needs the models, which need this module.
    from app.changes.record import RETENTION, RecordingSession

    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=RecordingSession,
        info={RETENTION: changes_retention_days},
    )
