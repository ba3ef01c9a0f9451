"""Exact row counts of whole tables without reading them (migration 7a3c9e2b4d18).

Triggers keep `table_counts` current in every writing transaction. On PostgreSQL a
transaction's own changes wait in transaction-local settings until its COMMIT adds them,
so a reader adds its own pending change: it sees its own writes, as with COUNT(*).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The tables the triggers count.
COUNTED_TABLES = ("categories", "grids", "packages")

_POSTGRESQL = text(
    "SELECT row_count + table_counts_pending(table_name) FROM table_counts"
    " WHERE table_name = :table"
)
_SQLITE = text("SELECT row_count FROM table_counts WHERE table_name = :table")


async def table_count(session: AsyncSession, table: str) -> int | None:
    """The number of rows in `table`, or None when it has no counter (then COUNT(*))."""
    if table not in COUNTED_TABLES:
        return None
    # On the session's connection (its transaction), without the ORM's execute path: this
    # runs on every unfiltered list page.
    connection = await session.connection()
    statement = _POSTGRESQL if connection.dialect.name == "postgresql" else _SQLITE
    total = await connection.scalar(statement, {"table": table})
    return None if total is None else int(total)


async def recount(session: AsyncSession) -> dict[str, int]:
    """Set every counter from COUNT(*) (a repair, e.g. after a restore that skipped triggers)."""
    counts: dict[str, int] = {}
    if (await session.connection()).dialect.name == "postgresql":
        # Writers wait until this transaction ends, so no commit falls between a COUNT(*)
        # and its counter (SQLite's writer lock already does that).
        await session.execute(text(f"LOCK TABLE {', '.join(COUNTED_TABLES)} IN SHARE MODE"))
    for table in COUNTED_TABLES:
        # Table names are ours (COUNTED_TABLES), never input.
        total = int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608
        await session.execute(
            text("DELETE FROM table_counts WHERE table_name = :table"), {"table": table}
        )
        await session.execute(
            text("INSERT INTO table_counts (table_name, row_count) VALUES (:table, :total)"),
            {"table": table, "total": total},
        )
        counts[table] = total
    if (await session.connection()).dialect.name == "postgresql":
        # This transaction's own writes are in the COUNT(*) above already.
        for table in COUNTED_TABLES:
            await session.execute(
                text("SELECT set_config('packages_api.pending_' || :table, '0', true)"),
                {"table": table},
            )
    return counts
