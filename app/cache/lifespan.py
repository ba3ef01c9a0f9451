"""The worker's read cache: its store and the watcher that keeps it exact, for the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from app.cache.postgres import PostgresWatcher
from app.cache.sqlite import SqliteWatcher, sqlite_path
from app.cache.store import ResponseStore
from app.config import Settings

log = logging.getLogger(__name__)


class Watcher(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def sync(self) -> bool:
        """Apply what other processes committed; True when the store may be used."""
        ...

    async def fence(self) -> None:
        """Return once this worker's committed writes are in the store."""
        ...


@dataclass
class ReadCache:
    store: ResponseStore
    watcher: Watcher

    async def after_write(self) -> None:
        await self.watcher.fence()


def _watcher(settings: Settings, store: ResponseStore) -> Watcher | None:
    url = settings.database_url.get_secret_value()
    if not settings.is_sqlite:
        return PostgresWatcher(store, url, settings.db_connect_timeout)
    path = sqlite_path(url)
    return SqliteWatcher(store, path) if path is not None else None


@asynccontextmanager
async def read_cache_lifespan(settings: Settings) -> AsyncIterator[ReadCache | None]:
    """The read cache while the app serves (None when CACHE_ENABLED is false, or on an
    in-memory SQLite database, which no other process can write)."""
    if not settings.cache_enabled:
        yield None
        return
    store = ResponseStore(settings.cache_max_mb * 1024 * 1024)
    watcher = _watcher(settings, store)
    if watcher is None:
        yield None
        return
    await watcher.start()
    try:
        yield ReadCache(store, watcher)
    finally:
        await watcher.stop()
