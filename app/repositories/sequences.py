"""Keeping PostgreSQL's id sequences ahead of rows inserted with explicit ids (imports)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.columns import Base


async def advance_id_sequences(session: AsyncSession) -> None:
    """Make each table's next generated id follow its highest id, so creations never collide.

    SQLite needs nothing: its rowids already follow the largest one.
    """
    if (await session.connection()).dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        if "id" not in table.c:
            continue
        # "The last id given out is the highest" rather than "the next is the highest + 1":
        # an imported id of 2**31 - 1 (a valid integer key) has no + 1 in an integer sequence.
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608 (table names are ours)
                f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table.name}"
            )
        )
