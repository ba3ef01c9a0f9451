"""The SQLite watcher on a file it cannot watch (not migrated yet): no cache, and no
connection left open behind it (Python 3.13 warns of one when it is collected)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app.cache.sqlite import SqliteWatcher
from app.cache.store import ResponseStore


async def test_a_watcher_that_cannot_watch_closes_what_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def recording_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    watcher = SqliteWatcher(ResponseStore(max_bytes=1 << 20), str(tmp_path / "unmigrated.db"))
    await watcher.start()

    assert (watcher.exact, watcher.connection, watcher.sync()) == (False, None, False)
    assert len(opened) == 1
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")
