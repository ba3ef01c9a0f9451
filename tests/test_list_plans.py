"""The list's filtered and ordered pages are index ranges: the plan of the very statement
the service sends reads one index in order, with no sort, for each ordering of the
category filter, by offset and by cursor (migration b4f1c8e2a7d3), on both dialects."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import CATEGORY_ORDERINGS
from tests.test_cursor_pages import PACKAGES, _populate


async def _page_statements(
    client: httpx.AsyncClient, connection: AsyncConnection, url: str
) -> list[tuple[str, Any]]:
    """The statements (and their parameters) that read the page `url` answers: one, or
    for a cursor on a nullable key two ranges, its non-NULL rows and its NULL ones."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        response = await client.get(url)
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)
    assert response.status_code == 200, response.text
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


@pytest.mark.parametrize("direction", ["", "-"])
@pytest.mark.parametrize("field", CATEGORY_ORDERINGS)
async def test_a_category_page_in_any_ordering_is_one_index_range(
    client: httpx.AsyncClient, connection: AsyncConnection, field: str, direction: str
) -> None:
    await _populate(connection)
    # With a few dozen rows either index may win on cost: the field's own index (testing
    # each row's category) and the category's (sorting) go, inside the test's transaction,
    # so the plan shows whether the (category_id, field, id) index serves the page alone.
    for competitor in (f"ix_packages_{field}_id", "ix_packages_category_id_id"):
        await connection.exec_driver_sql(f"DROP INDEX {competitor}")
    query = f"category=apps&ordering={direction}{field}&limit=5"
    first = await client.get(f"{PACKAGES}?cursor=&{query}")
    cursor_page = first.json()["next"].removeprefix("http://testserver")
    for url in (f"{PACKAGES}?{query}&offset=5", cursor_page):
        for statement, parameters in await _page_statements(client, connection, url):
            plan = await _plan(connection, statement, parameters)
            assert f"ix_packages_category_id_{field}_id" in plan, plan
            assert "Sort" not in plan, plan
