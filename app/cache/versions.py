"""Telling every worker's read cache that everything changed: after a migration, which may
change any answer without a row's trigger saying so (a new column served, a backfill)."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.cache.tags import CHANNEL, EVERYTHING

_SQLITE_EVERYTHING = (
    "INSERT INTO cache_versions (tag, version)"
    " VALUES (?, (SELECT coalesce(max(version), 0) + 1 FROM cache_versions))"
    " ON CONFLICT (tag) DO UPDATE SET version = excluded.version"
)


def forget_every_cached_answer(connection: Connection) -> None:
    """In the caller's transaction: at its commit, every worker empties its read cache."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_notify('{CHANNEL}', '{EVERYTHING}')")
    elif inspect(connection).has_table("cache_versions"):
        connection.exec_driver_sql(_SQLITE_EVERYTHING, (EVERYTHING,))
