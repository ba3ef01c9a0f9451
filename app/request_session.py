"""A request's unit of work: its session, committed or rolled back in this one place, and
SQLite's write turn for the requests allowed to write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db import UNSAFE_METHODS, SqliteWriters, set_write_intent


async def take_write_turn(request: Request) -> None:
    """Queue for this process's SQLite write turn, held until the request's session closes.

    Called once a request is known to be allowed to write (app.auth, the webhook's
    signature check), so a refused request never waits in the queue nor holds the lock.
    Nothing to do on PostgreSQL, outside a request session, or when the turn is held.
    """
    writers: SqliteWriters | None = request.app.state.sqlite_writers
    stack: AsyncExitStack | None = getattr(request.state, "write_turn", None)
    if writers is None or stack is None or getattr(request.state, "write_turn_held", False):
        return
    await stack.enter_async_context(writers.turn())
    request.state.write_turn_held = True


def _reads_without_transaction(session: AsyncSession) -> bool:
    """Reads on PostgreSQL run outside a transaction block: each statement of READ
    COMMITTED sees its own snapshot anyway, so BEGIN and COMMIT bought nothing but two
    round trips per request. SQLite keeps its transaction, whose snapshot spans the
    request's statements. A session bound to a caller's connection (tests) keeps the
    caller's transaction."""
    bind = session.bind
    return isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commit when the handler returns, roll back when it raises.

    This is the only place a request commits. It runs with scope="function" (see deps.py),
    so a failed commit still turns into an error response instead of a lost 2xx.
    """
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    writing = request.method in UNSAFE_METHODS
    # The SQLite write turn (take_write_turn) is held until the session has closed, so the
    # stack is entered first and left last.
    async with AsyncExitStack() as turn, maker() as session:
        request.state.write_turn = turn
        set_write_intent(writing)
        if not writing and _reads_without_transaction(session):
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
            read_cache = getattr(request.app.state, "read_cache", None) if writing else None
            if read_cache is not None:
                # The answer to a write goes out once this worker's read cache has forgotten
                # what the write changed: it never serves the old answer after this one.
                await read_cache.after_write()
        finally:
            set_write_intent(False)
