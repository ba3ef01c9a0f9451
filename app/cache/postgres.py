"""How a worker learns, on PostgreSQL, what any process wrote: LISTEN on the triggers' channel.

The triggers (migration c4f8a2e6b9d1) NOTIFY inside the writing transaction, and
PostgreSQL delivers at commit, in commit order, to every listening connection: each worker
holds one. A worker's own writes need more than "soon": `fence()` sends a notification of
its own after the write committed and waits for it to come back, and since delivery follows
commit order, every notification of the write has been applied by then. The request that
wrote answers after that (app.request_session.get_session), so the worker that acknowledged a write
never serves the old answer.

A lost connection loses notifications: the worker then empties its store and serves
without it (`exact` is False) until it listens again, and empties it once more then, since
what was written meanwhile was never heard.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs; used through a few calls
from sqlalchemy.engine import make_url

from app.cache.store import ResponseStore
from app.cache.tags import CHANNEL, EVERYTHING, parse

log = logging.getLogger(__name__)

FENCE_PREFIX = "fence:"
# How long a fence may take before the worker stops trusting its store (and empties it).
FENCE_TIMEOUT = 2.0
# A connection that silently died (a cut network sends no FIN) is found by this ping.
PING_EVERY = 2.0
PING_TIMEOUT = 1.0
# Between attempts to listen again: from the first, doubling, up to the last.
RETRY_FIRST, RETRY_MAX = 0.05, 2.0


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresWatcher:
    def __init__(self, store: ResponseStore, database_url: str, connect_timeout: float) -> None:
        self.store = store
        self.dsn = asyncpg_dsn(database_url)
        self.connect_timeout = connect_timeout
        self.connection: asyncpg.Connection | None = None
        self.exact = False
        self._fences: dict[str, asyncio.Future[None]] = {}
        self._numbers = itertools.count()
        self._lock = asyncio.Lock()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen before the first request (a failure here is retried in the background)."""
        await self._listen()
        self._task = asyncio.create_task(self._keep_listening(), name="read-cache-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._drop()
        if self.connection is not None:
            await self.connection.close(timeout=1)
            self.connection = None

    def sync(self) -> bool:
        """Is the store exact now? (Notifications arrive by themselves.)"""
        return self.exact

    async def fence(self) -> None:
        """Return once every write this worker committed before the call is in the store."""
        connection = self.connection
        if connection is None or not self.exact:
            return
        token = f"{FENCE_PREFIX}{id(self)}:{next(self._numbers)}"
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._fences[token] = waiter
        try:
            async with self._lock:  # one statement at a time on the connection
                await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, token)
            await asyncio.wait_for(waiter, FENCE_TIMEOUT)
        except Exception:  # whatever failed, the write itself is committed
            # Never the write's error: its answer goes out, served fresh by a cache that
            # starts again empty once listening. (A connection terminated mid-fence raised
            # asyncpg errors outside the list this once named: a committed write's 500.)
            log.warning("read cache: no fence within %ss; its store is dropped", FENCE_TIMEOUT)
            self._drop()
        finally:
            self._fences.pop(token, None)

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload.startswith(FENCE_PREFIX):
            waiter = self._fences.get(payload)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        self.store.changed(parse(payload))

    def _terminated(self, _connection: Any) -> None:
        if self.exact:
            log.warning("read cache: lost its database notifications; serving without it")
        self._drop()

    def _drop(self) -> None:
        self.exact = False
        self.store.clear()
        self._lost.set()

    async def _listen(self) -> None:
        try:
            connection = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
            log.warning("read cache: cannot listen (%s); serving without it", type(error).__name__)
            self._drop()
            return
        connection.add_termination_listener(self._terminated)
        try:
            await connection.add_listener(CHANNEL, self._notified)
        except Exception:  # the loop tries again; meanwhile no cache
            log.warning("read cache: cannot LISTEN; serving without it")
            connection.terminate()
            self._drop()
            return
        self.connection = connection
        self._lost.clear()
        # Whatever was written before LISTEN took effect was never heard.
        self.store.changed([EVERYTHING])
        self.exact = True

    async def _keep_listening(self) -> None:
        delay = RETRY_FIRST
        while True:
            if self.exact and self.connection is not None:
                delay = RETRY_FIRST
                try:
                    await asyncio.wait_for(self._lost.wait(), PING_EVERY)
                    continue
                except TimeoutError:
                    pass
                if not await self._alive(self.connection):
                    self._drop()
                continue
            await self._discard_connection()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
            await self._listen()

    async def _alive(self, connection: asyncpg.Connection) -> bool:
        try:
            async with self._lock:
                await connection.fetchval("SELECT 1", timeout=PING_TIMEOUT)
        except Exception:  # any failure: listen again, from an empty store
            return False
        return True

    async def _discard_connection(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.terminate()
