"""Exact list counts without COUNT(*): the `table_counts` triggers, whoever writes.

The API, raw SQL, a rolled-back request, concurrent transactions that both commit, and the
`search rebuild` repair all leave `count` equal to the table's real number of rows.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.config import Settings
from app.db import create_engine
from app.models import Category, Grid, Package
from tests.conftest import Databases, StatementCounter
from tests.test_cli import packages_api

TABLES = ("packages", "grids", "categories")
Headers = dict[str, str]


async def _listed(client: httpx.AsyncClient, table: str) -> int:
    response = await client.get(f"/api/v4/{table}/?limit=1")
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


async def _real(connection: AsyncConnection, table: str) -> int:
    return int(await connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608


async def _assert_exact(client: httpx.AsyncClient, connection: AsyncConnection) -> dict[str, int]:
    counts = {table: await _listed(client, table) for table in TABLES}
    assert counts == {table: await _real(connection, table) for table in TABLES}
    return counts


async def test_counts_follow_api_creates_and_deletes(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers
) -> None:
    assert await _assert_exact(client, connection) == {"packages": 0, "grids": 0, "categories": 0}
    await client.post(
        "/api/v4/categories/", json={"title": "Apps", "slug": "apps"}, headers=write_headers
    )
    for number in range(3):
        response = await client.post(
            "/api/v4/packages/",
            json={"title": f"Tool {number}", "category": "apps"},
            headers=write_headers,
        )
        assert response.status_code == 201, response.text
    await client.post("/api/v4/grids/", json={"title": "Shops"}, headers=write_headers)
    assert await _assert_exact(client, connection) == {"packages": 3, "grids": 1, "categories": 1}

    await client.delete("/api/v4/packages/tool-1/", headers=write_headers)
    await client.delete("/api/v4/grids/shops/", headers=write_headers)
    assert await _assert_exact(client, connection) == {"packages": 2, "grids": 0, "categories": 1}


async def test_the_unfiltered_list_counts_without_reading_the_table(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    write_headers: Headers,
    count_statements: StatementCounter,
) -> None:
    await client.post(
        "/api/v4/categories/", json={"title": "Apps", "slug": "apps"}, headers=write_headers
    )
    count_statements.statements.clear()
    await client.get("/api/v4/packages/")
    await client.get("/api/v4/categories/?cursor=")
    assert not [s for s in count_statements.statements if "count(" in s.lower()]
    # A filtered list still counts, with its filter.
    count_statements.statements.clear()
    await client.get("/api/v4/packages/?category=apps")
    assert [s for s in count_statements.statements if "count(" in s.lower()]


async def test_raw_sql_writes_are_counted(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await connection.execute(insert(Category), [{"id": 1, "title": "Apps", "slug": "apps"}])
    # One multi-row statement, then an executemany.
    await connection.execute(
        insert(Package).values(
            [{"title": f"P{n}", "slug": f"p-{n}", "category_id": 1} for n in range(5)]
        )
    )
    await connection.execute(
        insert(Package), [{"title": f"Q{n}", "slug": f"q-{n}", "category_id": 1} for n in range(4)]
    )
    await connection.execute(insert(Grid), [{"title": "G", "slug": "g"}])
    assert (await _assert_exact(client, connection))["packages"] == 9
    await connection.execute(text("DELETE FROM packages WHERE slug LIKE 'p-%'"))
    assert await _assert_exact(client, connection) == {"packages": 4, "grids": 1, "categories": 1}


async def test_a_failed_request_takes_its_counted_rows_back(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers
) -> None:
    # The grid row is inserted (flushed) before its unknown package is found: a 422, rolled back.
    response = await client.post(
        "/api/v4/grids/", json={"title": "Shops", "packages": ["nope"]}, headers=write_headers
    )
    assert response.status_code == 422, response.text
    assert await _assert_exact(client, connection) == {"packages": 0, "grids": 0, "categories": 0}
    # And a savepoint rolled back inside a transaction does the same.
    savepoint = await connection.begin_nested()
    await connection.execute(insert(Grid), [{"title": "Gone", "slug": "gone"}])
    assert await _listed(client, "grids") == 1
    await savepoint.rollback()
    assert await _assert_exact(client, connection) == {"packages": 0, "grids": 0, "categories": 0}


async def _stored_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT table_name, row_count FROM table_counts"))
        return {name: int(count) for name, count in rows}


async def _real_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {table: await _real(connection, table) for table in TABLES}


async def test_committed_transactions_add_up_and_do_not_wait_for_each_other(
    databases: Databases, dialect: str
) -> None:
    """On PostgreSQL a long writing transaction (an import) must not hold other writers
    behind the counter row: B commits while A is still open, and both are counted."""
    url = await databases.fresh()
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Category), [{"id": 1, "title": "A", "slug": "a"}])
        if dialect == "postgresql":
            async with engine.connect() as first, engine.connect() as second:
                await first.execute(
                    insert(Package), [{"title": "A", "slug": "a", "category_id": 1}]
                )
                await second.execute(
                    insert(Package), [{"title": "B", "slug": "b", "category_id": 1}]
                )
                await asyncio.wait_for(second.commit(), timeout=10)
                assert (await _stored_counts(engine))["packages"] == 1
                await first.commit()
        else:
            for slug in ("a", "b"):
                async with engine.begin() as connection:
                    await connection.execute(
                        insert(Package), [{"title": slug, "slug": slug, "category_id": 1}]
                    )
        assert await _stored_counts(engine) == await _real_counts(engine)
        assert (await _stored_counts(engine))["packages"] == 2

        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM packages WHERE slug = 'a'"))
        if dialect == "postgresql":
            async with engine.begin() as connection:
                await connection.execute(text("TRUNCATE packages CASCADE"))
        assert await _stored_counts(engine) == await _real_counts(engine)
        if dialect == "postgresql":
            async with engine.connect() as connection:
                # Each transaction's queued flush removed itself.
                assert (
                    await connection.scalar(text("SELECT count(*) FROM table_count_flushes")) == 0
                )
    finally:
        await engine.dispose()


async def test_search_rebuild_also_repairs_the_counts(databases: Databases, tmp_path: Path) -> None:
    url = await databases.fresh()
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Category), [{"id": 1, "title": "A", "slug": "a"}])
            await connection.execute(
                insert(Package), [{"title": "A", "slug": "a", "category_id": 1}]
            )
        # Rebuilding alone (its UPDATEs) changes no count.
        result = await packages_api(url, "search", "rebuild", cwd=tmp_path)
        assert result.code == 0, result.stderr
        assert await _stored_counts(engine) == {"packages": 1, "grids": 0, "categories": 1}
        # Wrong, as after restoring a dump with the triggers disabled: it puts them right.
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE table_counts SET row_count = 999"))
            await connection.execute(text("DELETE FROM table_counts WHERE table_name = 'grids'"))
        result = await packages_api(url, "search", "rebuild", cwd=tmp_path)
        assert result.code == 0, result.stderr
        assert await _stored_counts(engine) == {"packages": 1, "grids": 0, "categories": 1}
    finally:
        await engine.dispose()


async def test_a_missing_counter_falls_back_to_counting(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await connection.execute(insert(Category), [{"id": 1, "title": "A", "slug": "a"}])
    await connection.execute(insert(Package), [{"title": "A", "slug": "a", "category_id": 1}])
    await connection.execute(
        text("DELETE FROM table_counts WHERE table_name = :t"), {"t": "packages"}
    )
    assert await _listed(client, "packages") == 1
