"""The change feed through HTTP: every write makes one event in its transaction, with only
the fields that really changed; readers follow `next`; old positions answer 410."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Change
from app.transfer import load_records
from tests.conftest import bound_sessionmaker
from tests.factories import create_category, create_grid, create_package

Event = tuple[str, str, int, list[str]]


async def _events(client: httpx.AsyncClient, after: int = 0) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v4/changes/?after={after}")
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def _brief(events: list[dict[str, Any]]) -> list[Event]:
    return [(e["kind"], e["resource"], e["id"], e["fields"]) for e in events]


async def test_api_writes_make_events_with_the_fields_that_changed(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    category = await create_category(client, write_headers, title="Apps")
    package = await create_package(client, write_headers, title="Shop", category=category["id"])
    grid = await create_grid(client, write_headers, title="Shops")
    created = await _events(client)
    assert [(e["kind"], e["resource"], e["id"]) for e in created] == [
        ("created", "categories", category["id"]),
        ("created", "packages", package["id"]),
        ("created", "grids", grid["id"]),
    ]
    assert [e["seq"] for e in created] == [1, 2, 3]
    assert created[1]["url"] == f"http://testserver/api/v4/packages/{package['id']}/"
    assert {"title", "slug", "category", "repo_url"} <= set(created[1]["fields"])
    assert "modified" not in created[1]["fields"]

    url = f"/api/v4/packages/{package['id']}/"
    response = await client.patch(url, json={"title": "Shop 2"}, headers=write_headers)
    assert response.status_code == 200, response.text
    # The same value again is no change, so no event.
    response = await client.patch(url, json={"title": "Shop 2"}, headers=write_headers)
    assert response.status_code == 200, response.text
    response = await client.post(
        f"/api/v4/grids/{grid['id']}/packages/",
        json={"package": package["id"]},
        headers=write_headers,
    )
    assert response.status_code in {200, 201}, response.text
    response = await client.delete(url, headers=write_headers)
    assert response.status_code == 204
    assert _brief(await _events(client, after=3)) == [
        ("updated", "packages", package["id"], ["title"]),
        ("updated", "grids", grid["id"], ["packages"]),
        ("updated", "packages", package["id"], ["grids"]),
        ("deleted", "packages", package["id"], []),
        # The database cascades the membership away: the grid lost a package.
        ("updated", "grids", grid["id"], ["packages"]),
    ]


async def test_a_failed_write_makes_no_event(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    await create_category(client, write_headers, title="Apps", slug="apps")
    response = await client.post(
        "/api/v4/categories/", json={"title": "Again", "slug": "apps"}, headers=write_headers
    )
    assert response.status_code == 409
    assert len(await _events(client)) == 1


async def test_a_reader_following_next_sees_each_event_once(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    for number in range(7):
        await create_category(client, write_headers, title=f"C{number}")
    seen: list[int] = []
    url = "/api/v4/changes/?limit=3"
    for _ in range(5):
        page = (await client.get(url)).json()
        seen += [event["seq"] for event in page["results"]]
        url = page["next"]
    assert seen == list(range(1, 8))
    assert page["results"] == []
    assert page["next"].endswith("/api/v4/changes/?after=7&limit=3")


async def test_an_import_makes_events_and_the_same_import_again_none(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    stamp = "2024-01-02T03:04:05Z"
    records: dict[str, list[dict[str, Any]]] = {
        "categories": [
            {"id": 5, "title": "Apps", "slug": "apps", "created": stamp, "modified": stamp}
        ],
        "packages": [
            {
                "id": 10,
                "title": "Shop",
                "slug": "shop",
                "category": 5,
                "repo_watchers": 3,
                "created": stamp,
                "modified": stamp,
            }
        ],
    }
    for _ in range(2):
        async with bound_sessionmaker(connection)() as session:
            summary = await load_records(session, records)
            await session.commit()
        assert not summary.refused, summary.refused
    assert [(e["kind"], e["resource"], e["id"]) for e in await _events(client)] == [
        ("created", "categories", 5),
        ("created", "packages", 10),
    ]
    records["packages"][0]["repo_watchers"] = 4
    async with bound_sessionmaker(connection)() as session:
        await load_records(session, records)
        await session.commit()
    assert _brief(await _events(client, after=2)) == [
        ("updated", "packages", 10, ["repo_watchers"])
    ]


async def test_an_after_older_than_retention_is_410_with_how_to_resync(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    await connection.execute(
        insert(Change),
        [
            {"seq": seq, "at": old, "kind": "created", "resource": "categories",
             "resource_id": 1000 + seq, "fields": []}
            for seq in (97, 98, 99)
        ],
    )  # fmt: skip
    assert len(await _events(client, after=96)) == 3  # nothing pruned until a write
    # The write whose event is the hundredth prunes what is older than 30 days.
    await create_category(client, write_headers, title="Now")
    kept = (await connection.scalars(select(Change.seq).order_by(Change.seq))).all()
    assert kept == [100]
    gone = await client.get("/api/v4/changes/?after=97")
    assert gone.status_code == 410
    assert gone.json()["code"] == "gone"
    assert "after=100" in gone.json()["detail"]
    # A reader that had seen 99 misses nothing: it reads on.
    assert [e["seq"] for e in await _events(client, after=99)] == [100]


async def test_bad_positions_are_400(client: httpx.AsyncClient) -> None:
    for query in ("after=-1", "after=x", "limit=0", "limit=1.5"):
        response = await client.get(f"/api/v4/changes/?{query}")
        assert response.status_code == 400, query
        assert response.json()["code"] == "invalid_query"


async def test_deleting_a_grid_updates_its_packages_grids(
    client: httpx.AsyncClient, write_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    category = await create_category(client, write_headers)
    package = await create_package(client, write_headers, title="P", category=category["id"])
    grid = await create_grid(client, write_headers, title="G", packages=[package["id"]])
    before = len(await _events(client))
    response = await client.delete(f"/api/v4/grids/{grid['id']}/", headers=admin_headers)
    assert response.status_code == 204, response.text
    assert _brief(await _events(client, after=before)) == [
        ("deleted", "grids", grid["id"], []),
        ("updated", "packages", package["id"], ["grids"]),
    ]
