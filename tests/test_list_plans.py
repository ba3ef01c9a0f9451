"""The list's filtered and ordered pages are index ranges: the plan of the very statement
the service sends reads one index in order, with no sort, for each ordering of the
category filter, by offset and by cursor (migration b4f1c8e2a7d3), on both dialects."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import CATEGORY_ORDERINGS, Grid
from tests.conftest import bound_sessionmaker
from tests.test_cursor_pages import PACKAGES, _expected, _populate


async def _get_recording(
    client: httpx.AsyncClient, connection: AsyncConnection, url: str
) -> tuple[httpx.Response, list[tuple[str, Any]]]:
    """The answer to `url` (a 200) and every statement, with its parameters, sent for it."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        response = await client.get(url)
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)
    assert response.status_code == 200, response.text
    return response, sent


async def _page_statements(
    client: httpx.AsyncClient, connection: AsyncConnection, url: str
) -> list[tuple[str, Any]]:
    """The statements (and their parameters) that read the page `url` answers: one, or
    for a cursor on a nullable key two ranges, its non-NULL rows and its NULL ones."""
    _, sent = await _get_recording(client, connection, url)
    # The category's own lookup (a shared slug resolves to its lowest id) is ordered and
    # limited too; the page is the statement that reads packages.
    pages = [(s, p) for s, p in sent if "ORDER BY" in s and "LIMIT" in s and "FROM packages" in s]
    assert pages, [s for s, _ in sent]
    return pages


async def _plan(connection: AsyncConnection, statement: str, parameters: Any) -> str:
    """The plan of `statement`; a sort, on either dialect, shows as the word "Sort"."""
    if connection.dialect.name == "sqlite":
        result = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        # SQLite says "USE TEMP B-TREE FOR ORDER BY" when it sorts.
        return "\n".join(str(row[3]).replace("TEMP B-TREE", "Sort") for row in result)
    # A few dozen rows: make the planner show whether an index *can* serve the page in
    # order, rather than pick a scan and a sort because the table is tiny.
    await connection.execute(text("SET LOCAL enable_seqscan = off"))
    await connection.execute(text("SET LOCAL enable_sort = off"))
    await connection.execute(text("SET LOCAL enable_bitmapscan = off"))
    result = await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
    return "\n".join(row[0] for row in result)


async def _drop_competitors_of_category_index(connection: AsyncConnection, field: str) -> None:
    """With a few dozen rows either index may win on cost (how large earlier rolled-back
    tests left the table decides): the field's own index (testing each row's category) and
    the category's (sorting) go, inside the test's transaction, so the plan shows whether
    the (category_id, field, id) index serves a category's page in that order alone."""
    for competitor in (f"ix_packages_{field}_id", "ix_packages_category_id_id"):
        await connection.exec_driver_sql(f"DROP INDEX {competitor}")


@pytest.mark.parametrize("direction", ["", "-"])
@pytest.mark.parametrize("field", CATEGORY_ORDERINGS)
async def test_a_category_page_in_any_ordering_is_one_index_range(
    client: httpx.AsyncClient, connection: AsyncConnection, field: str, direction: str
) -> None:
    await _populate(connection)
    await _drop_competitors_of_category_index(connection, field)
    query = f"category=apps&ordering={direction}{field}&limit=5"
    first = await client.get(f"{PACKAGES}?cursor=&{query}")
    cursor_page = first.json()["next"].removeprefix("http://testserver")
    for url in (f"{PACKAGES}?{query}&offset=5", cursor_page):
        for statement, parameters in await _page_statements(client, connection, url):
            plan = await _plan(connection, statement, parameters)
            assert f"ix_packages_category_id_{field}_id" in plan, plan
            assert "Sort" not in plan, plan


DEEP_PAGES = [
    # (url, the table paged, the ids the page shows)
    (f"{PACKAGES}?offset=20&limit=5", "packages", _expected("-id")[20:25]),
    (
        f"{PACKAGES}?ordering=-repo_watchers&offset=12&limit=5",
        "packages",
        _expected("-repo_watchers")[12:17],
    ),
    (
        f"{PACKAGES}?category=apps&ordering=last_updated&offset=6&limit=4",
        "packages",
        _expected("last_updated", lambda row: row["category_id"] == 1)[6:10],
    ),
    ("/api/v4/grids/shops/packages/?offset=4&limit=3", "packages", [24, 21, 18]),
    # "Grid 2" .. "Grid 6", then "Shops".
    ("/api/v4/grids/?ordering=title&offset=3&limit=2", "grids", [5, 6]),
]


@pytest.mark.parametrize(("url", "table", "expected"), DEEP_PAGES)
async def test_a_deep_offset_page_walks_ids_alone_and_aggregates_only_its_rows(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    url: str,
    table: str,
    expected: list[int],
) -> None:
    await _populate(connection)
    async with bound_sessionmaker(connection)() as session:
        session.add_all(Grid(id=n, title=f"Grid {n}", slug=f"grid-{n}") for n in range(2, 7))
        await session.commit()
    response, sent = await _get_recording(client, connection, url)
    assert [item["id"] for item in response.json()["results"]] == expected

    # The one statement that skips rows selects the ids alone, from the bare table: no
    # join, no grid ids aggregate, no sort (the ordering's index, read in order).
    walking = [(s, p) for s, p in sent if "OFFSET" in s and f"FROM {table}" in s]
    assert len(walking) == 1, [s for s, _ in sent]
    statement, parameters = walking[0]
    select_list = statement.split("FROM", 1)[0]
    assert " ".join(select_list.split()) == f"SELECT {table}.id", statement
    assert "JOIN" not in statement, statement
    assert "string_agg" not in statement and "group_concat" not in statement, statement
    if "grid_packages" not in statement:
        assert "Sort" not in await _plan(connection, statement, parameters)
    # A grid's packages: the grid's members are found by the membership index and their
    # ids (only those, not the rows) ordered; that costs the grid's size, not the offset.

    # Whatever reads grid membership for the rows shown (a package's grid ids, a grid's
    # members) has no OFFSET, and is bound to the page's ids: it touches those rows only.
    aggregates = [
        (s, p)
        for s, p in sent
        if ("string_agg" in s or "group_concat" in s or "JOIN grid_packages" in s)
        and f"FROM {table}" in s
    ]
    assert len(aggregates) == 1, [s for s, _ in sent]
    statement, parameters = aggregates[0]
    assert "OFFSET" not in statement and "LIMIT" not in statement, statement
    bound = [value for value in parameters if isinstance(value, int)]
    assert set(expected) <= set(bound), (bound, expected)
    # The page's ids, plus the grid filter's id for a grid's packages.
    assert len(bound) <= len(expected) + 1, bound
