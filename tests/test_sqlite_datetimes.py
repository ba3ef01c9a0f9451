"""On SQLite, a date or datetime bound without a column type (raw SQL: the refresher's
UPDATEs, the tests' writes) is stored as sqlite3 always stored it, through adapters of
ours: Python 3.12 deprecated sqlite3's default ones (a warning on every such write, and
an error in this suite)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from sqlalchemy import text

from app.config import Settings
from app.db import create_engine


async def test_a_datetime_in_raw_sql_is_stored_as_it_always_was(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/d.db"))
    moment = dt.datetime(2026, 12, 3, 18, 5, 7, 123456, tzinfo=dt.UTC)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (at TEXT, day TEXT)"))
            await connection.execute(
                text("INSERT INTO t VALUES (:at, :day)"), {"at": moment, "day": moment.date()}
            )
            stored = (await connection.execute(text("SELECT at, day FROM t"))).one()
    finally:
        await engine.dispose()
    assert tuple(stored) == ("2026-12-03 18:05:07.123456+00:00", "2026-12-03")
    for kind in (dt.datetime, dt.date):
        assert sqlite3.adapters[(kind, sqlite3.PrepareProtocol)].__module__ == "app.db"
