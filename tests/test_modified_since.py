"""`?modified_since=` on the packages, grids and categories lists: the records modified at
or after the instant, ordered by (modified, id), by offset or by cursor pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Category, Grid, Package
from tests.conftest import bound_sessionmaker

DAY0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
COUNT = 13


def _modified(number: int) -> dt.datetime:
    # Ties: two records share each instant, so the id breaks them.
    return DAY0 + dt.timedelta(hours=number // 2)


async def _populate(connection: AsyncConnection) -> None:
    async with bound_sessionmaker(connection)() as session:
        session.add_all(
            Category(id=n, title=f"C{n}", slug=f"c{n}", modified=_modified(n))
            for n in range(1, COUNT + 1)
        )
        session.add_all(
            Grid(id=n, title=f"G{n}", slug=f"g{n}", modified=_modified(n))
            for n in range(1, COUNT + 1)
        )
        await session.flush()
        # Descending ids against ascending instants: the order is the instant's, not the id's.
        session.add_all(
            Package(id=100 - n, title=f"P{n}", slug=f"p{n}", category_id=1, modified=_modified(n))
            for n in range(1, COUNT + 1)
        )
        await session.commit()


def _expected(since: dt.datetime, ids: dict[int, int]) -> list[int]:
    rows = [(_modified(n), ids[n]) for n in range(1, COUNT + 1) if _modified(n) >= since]
    return [row_id for _, row_id in sorted(rows)]


async def _walk(client: httpx.AsyncClient, url: str) -> list[int]:
    seen: list[int] = []
    next_url: str | None = url
    while next_url:
        page = (await client.get(next_url)).json()
        seen += [result["id"] for result in page["results"]]
        next_url = page["next"]
    return seen


@pytest.mark.parametrize("resource", ["packages", "grids", "categories"])
@pytest.mark.parametrize("paging", ["limit=4", "limit=4&cursor="])
async def test_records_modified_at_or_after_in_modified_then_id_order(
    client: httpx.AsyncClient, connection: AsyncConnection, resource: str, paging: str
) -> None:
    await _populate(connection)
    ids = {n: (100 - n if resource == "packages" else n) for n in range(1, COUNT + 1)}
    since = DAY0 + dt.timedelta(hours=2)  # exactly records 4 and 5: "at or after"
    for spelled in ("2024-01-01T02:00:00Z", "2024-01-01T04:00:00%2B02:00", "2024-01-01t02:00:00z"):
        url = f"/api/v4/{resource}/?modified_since={spelled}&{paging}"
        response = await client.get(url)
        assert response.status_code == 200, response.text
        assert response.json()["count"] == len(_expected(since, ids))
        assert await _walk(client, url) == _expected(since, ids)


@pytest.mark.parametrize(
    "query",
    [
        "modified_since=2024-01-01",
        "modified_since=yesterday",
        "modified_since=2024-01-01T02:00:00",  # no offset: which instant?
        "modified_since=2024-13-01T02:00:00Z",
        "modified_since=2024-01-01T02:00:00Z&ordering=title",
    ],
)
async def test_a_bad_instant_or_another_ordering_is_400(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await client.get(f"/api/v4/packages/?{query}")
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == "invalid_query"
