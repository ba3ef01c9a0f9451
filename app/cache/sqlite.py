"""How a worker learns, on SQLite, what any process wrote: a versions table the triggers
keep, read only when `PRAGMA data_version` says another connection committed.

The triggers (migration c4f8a2e6b9d1) give every tag a write touched the next version in
`cache_versions`, in the writing transaction. Before each cached read, the worker asks its
own connection for `data_version` (a read of shared memory, microseconds), which changes
whenever any other connection, in this process or another, has committed; only then does
it read the versions past the last one it saw. So every process, the one that wrote
included, sees a write on its very next request.
"""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy.engine import make_url

from app.cache.store import ResponseStore
from app.cache.tags import EVERYTHING

log = logging.getLogger(__name__)

# A check never waits on a writer: WAL readers do not block, and anything else is a bypass.
BUSY_TIMEOUT_SECONDS = 0.05


def sqlite_path(database_url: str) -> str | None:
    """The database file, or None for an in-memory database (no other process to hear)."""
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database


class SqliteWatcher:
    def __init__(self, store: ResponseStore, path: str) -> None:
        self.store = store
        self.path = path
        self.connection: sqlite3.Connection | None = None
        self.data_version: int | None = None
        self.version = 0
        self.exact = False

    async def start(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
                check_same_thread=False,
            )
            row = connection.execute("SELECT coalesce(max(version), 0) FROM cache_versions")
            self.version = int(row.fetchone()[0])
            self.data_version = self._data_version(connection)
        except sqlite3.Error as error:
            if connection is not None:
                connection.close()
            # Not migrated yet, or unreadable: no cache rather than an inexact one.
            log.warning("read cache: cannot watch %s (%s); serving without it", self.path, error)
            return
        self.connection = connection
        self.exact = True

    async def stop(self) -> None:
        self.exact = False
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        self.store.clear()

    async def fence(self) -> None:
        """The next sync() sees this worker's commit (data_version moved): nothing to wait for."""
        self.sync()

    def sync(self) -> bool:
        """Apply what other connections committed since the last call; is the store exact?"""
        connection = self.connection
        if connection is None:
            return False
        try:
            current = self._data_version(connection)
            if current == self.data_version:
                return True
            rows = connection.execute(
                "SELECT tag, version FROM cache_versions WHERE version > ? ORDER BY version",
                (self.version,),
            ).fetchall()
        except sqlite3.Error:
            self.store.clear()  # this read bypasses; the next one tries again
            return False
        self.data_version = current
        if rows:
            self.version = int(rows[-1][1])
            tags = [str(tag) for tag, _version in rows]
            self.store.changed([EVERYTHING] if EVERYTHING in tags else tags)
        return True

    @staticmethod
    def _data_version(connection: sqlite3.Connection) -> int:
        return int(connection.execute("PRAGMA data_version").fetchone()[0])
