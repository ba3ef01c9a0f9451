"""What every benchmark does on the PostgreSQL server before and after it runs: asyncpg's
form of a SQLAlchemy URL, and one statement (CREATE/DROP DATABASE) outside any database of
its own. Run as scripts, the benchmarks find this module beside them."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """`url` (any SQLAlchemy driver) as asyncpg takes it, on `database` if given."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def admin(server: str, statement: str) -> None:
    """Runs one statement on the server's maintenance connection (`server`'s database)."""
    connection = await asyncpg.connect(asyncpg_dsn(server))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
