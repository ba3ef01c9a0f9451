"""`?django=`, `?python=`, `?status=` and the `last_release` / `commits_last_year`
orderings through HTTP on both databases: the package list, a grid's packages and search;
combined with category and q; offset and cursor pages; 400s as every bad filter gets; and
the stored facts kept by each writer (API edits and deletes, the importer)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Category, Grid, GridPackage, Package
from app.repositories.facts import write_facts
from app.repositories.sequences import advance_id_sequences
from app.transfer.loader import load_records
from tests.conftest import bound_sessionmaker

LIST = "/api/v4/packages/"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
STAMP = "2026-01-01T00:00:00Z"


def ago(days: int) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


DJANGO_52 = "Framework :: Django :: 5.2"
DJANGO_42 = "Framework :: Django :: 4.2"
PY_313 = "Programming Language :: Python :: 3.13"
PY_39 = "Programming Language :: Python :: 3.9"

# id: (title, category, facts). Statuses with the default thresholds (12 and 24 months).
PACKAGES: dict[int, tuple[str, int, dict[str, Any]]] = {
    1: ("Active shop", 1, {"pypi_classifiers": [DJANGO_52, PY_313], "last_updated": ago(10),
                           "commits_over_52": [2] * 52, "pypi_last_release": ago(20)}),
    2: ("Stale shop", 1, {"pypi_classifiers": [DJANGO_42, PY_39], "last_updated": ago(500),
                          "commits_over_52": [0] * 52, "pypi_last_release": ago(450)}),
    3: ("Inactive shop", 2, {"pypi_classifiers": [DJANGO_52], "pypi_requires_python": ">=3.12",
                             "last_updated": ago(2000)}),
    4: ("Archived shop", 2, {"date_repo_archived": ago(30), "last_updated": ago(40),
                             "commits_over_52": [1] * 52, "pypi_last_release": ago(35)}),
    5: ("Quarantined shop", 1, {"pypi_status": "quarantined", "pypi_classifiers": [DJANGO_52],
                                "last_updated": ago(5)}),
    6: ("Unknown shop", 2, {}),
    7: ("Replaced shop", 1, {"deprecated_by_id": 1, "last_updated": ago(3),
                             "pypi_classifiers": [DJANGO_52, PY_313]}),
}  # fmt: skip


async def _populate(connection: AsyncConnection) -> None:
    async with bound_sessionmaker(connection)() as session:
        session.add_all(
            [
                Category(id=1, title="Apps", slug="apps"),
                Category(id=2, title="Frameworks", slug="frameworks"),
                Grid(id=1, title="Shops", slug="shops"),
            ]
        )
        await session.flush()
        for number, (title, category, facts) in PACKAGES.items():
            session.add(
                Package(
                    id=number, title=title, slug=f"shop-{number}", category_id=category, **facts
                )
            )
            await session.flush()  # package 7 names package 1
        session.add_all(GridPackage(grid_id=1, package_id=n) for n in (1, 2, 3, 4, 5))
        # As every writer does after writing a package's inputs.
        await write_facts(session, PACKAGES)
        await advance_id_sequences(session)
        await session.commit()


async def _ids(client: httpx.AsyncClient, url: str) -> list[int]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"] if isinstance(body, dict) else body
    if isinstance(body, dict):
        assert body["count"] == len(results) or "limit" in url or "cursor" in url
    return [item["id"] for item in results]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("django=5.2", [7, 5, 3, 1]),
        ("django=%205.02%20", [7, 5, 3, 1]),  # spaces around, a leading zero
        ("django=4.2", [2]),
        ("django=1.0", []),
        ("python=3.13", [7, 3, 1]),  # 3: Requires-Python alone admits 3.13, a candidate
        ("python=3.9", [2]),  # 3.9 is no candidate: classifiers only
        ("python=3.12", [3]),
        ("status=active", [1]),
        ("status=stale", [2]),
        ("status=inactive", [3]),
        ("status=archived", [4]),
        ("status=deprecated", [7, 5]),
        ("status=unknown", [6]),
        ("status=active,stale", [2, 1]),
        ("status=%20deprecated%20,,archived", [7, 5, 4]),
        ("status=active,stale,inactive,archived,deprecated,unknown", [7, 6, 5, 4, 3, 2, 1]),
        ("status=deprecated&django=5.2&python=3.13", [7]),
        ("status=deprecated&category=apps", [7, 5]),
        ("django=5.2&category=frameworks", [3]),
        ("django=&python=&status=", [7, 6, 5, 4, 3, 2, 1]),  # blank: no filter
        ("grid=shops&status=deprecated,archived", [5, 4]),
    ],
)
async def test_the_list_keeps_the_packages_whose_answers_match(
    client: httpx.AsyncClient, connection: AsyncConnection, query: str, expected: list[int]
) -> None:
    await _populate(connection)

    response = await client.get(f"{LIST}?{query}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["results"]] == expected
    assert body["count"] == len(expected)
    # Each package found says so itself.
    for item in body["results"]:
        if "django=5.2" in query:
            assert "5.2" in item["django_versions"]
        if "python=3.13" in query:
            assert "3.13" in item["python_versions"]
        if query.startswith("status=") and "," not in query and "&" not in query:
            assert item["maintenance"]["status"] == query.split("=")[1].strip()


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        # NULL above every value, as every ordering has it: last going up, first going down.
        # Oldest release first: 2 (450 days ago), 4 (35), 1 (20); then the NULLs by id.
        ("last_release", [2, 4, 1, 3, 5, 6, 7]),
        ("-last_release", [7, 6, 5, 3, 1, 4, 2]),
        ("commits_last_year", [2, 4, 1, 3, 5, 6, 7]),
        ("-commits_last_year", [7, 6, 5, 3, 1, 4, 2]),
        # NULLs by title: Inactive, Quarantined, Replaced, Unknown.
        ("-commits_last_year,title", [3, 5, 7, 6, 1, 4, 2]),
    ],
)
async def test_the_new_orderings_by_offset_and_by_cursor(
    client: httpx.AsyncClient, connection: AsyncConnection, ordering: str, expected: list[int]
) -> None:
    await _populate(connection)

    assert await _ids(client, f"{LIST}?ordering={ordering}") == expected
    pages = [
        await _ids(client, f"{LIST}?ordering={ordering}&limit=3&offset={offset}")
        for offset in (0, 3, 6)
    ]
    assert [n for page in pages for n in page] == expected
    walked: list[int] = []
    url: str | None = f"{LIST}?ordering={ordering}&limit=2&cursor="
    while url is not None:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        walked += [item["id"] for item in response.json()["results"]]
        url = response.json()["next"]
        assert len(walked) <= len(expected)
    assert walked == expected


async def test_filters_and_orderings_page_together(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    query = "status=active,stale,deprecated&ordering=-commits_last_year"
    whole = await _ids(client, f"{LIST}?{query}")

    assert whole == [7, 5, 1, 2]  # 7 and 5 never fetched (NULL), then 104 and 0 commits
    pages = [await _ids(client, f"{LIST}?{query}&limit=1&offset={n}") for n in range(4)]
    assert [page[0] for page in pages] == whole
    first = (await client.get(f"{LIST}?{query}&limit=3&cursor=")).json()
    second = (await client.get(first["next"])).json()
    assert [item["id"] for item in first["results"] + second["results"]] == whole
    assert second["next"] is None


async def test_a_grids_packages_take_the_same_filters_and_orderings(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    url = "/api/v4/grids/shops/packages/"

    assert await _ids(client, f"{url}?django=5.2") == [5, 3, 1]
    assert await _ids(client, f"{url}?status=archived,inactive") == [4, 3]
    assert await _ids(client, f"{url}?ordering=-last_release&python=") == [5, 3, 1, 4, 2]
    refused = await client.get(f"{url}?ordering=stars")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "ordering"


async def test_search_keeps_the_packages_that_match(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await _populate(connection)
    async with bound_sessionmaker(connection)() as session:
        session.add(Grid(id=2, title="Shop grid", slug="shop-grid"))
        await session.commit()

    everything = await _ids(client, "/api/v4/search/?q=shop")
    found = await _ids(client, "/api/v4/search/?q=shop&django=5.2")
    deprecated = await _ids(client, "/api/v4/search/?q=shop&status=deprecated&limit=10")
    apps = await _ids(client, "/api/v4/search/?q=shop&status=active,stale&category=apps")

    assert len(everything) == 9  # seven packages and two grids
    assert sorted(found) == [1, 3, 5, 7]  # packages only: a grid has no versions
    assert sorted(deprecated) == [5, 7]
    assert sorted(apps) == [1, 2]
    response = await client.get("/api/v4/search/?q=shop&status=deprecated&limit=1&offset=1")
    assert response.json()["count"] == 2


@pytest.mark.parametrize(
    ("url", "field", "says"),
    [
        (f"{LIST}?status=alive", "status", "unknown status 'alive'"),
        (f"{LIST}?status=active;stale", "status", "unknown status"),
        (f"{LIST}?django=5", "django", "not a version like 5.2"),
        (f"{LIST}?python=3.13.1", "python", "not a version like 5.2"),
        (f"{LIST}?ordering=-last_releases", "ordering", "cannot order by 'last_releases'"),
        ("/api/v4/grids/shops/packages/?django=five", "django", "not a version"),
        ("/api/v4/search/?q=shop&status=gone", "status", "unknown status"),
        ("/api/v4/search/?q=shop&python=3", "python", "not a version"),
    ],
)
async def test_bad_values_are_400s_naming_the_parameter(
    client: httpx.AsyncClient, connection: AsyncConnection, url: str, field: str, says: str
) -> None:
    await _populate(connection)

    response = await client.get(url)

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_query"
    assert [(e["location"], e["field"]) for e in body["errors"]] == [("query", field)]
    assert says in body["errors"][0]["message"]


async def test_an_edit_or_a_delete_moves_a_package_between_statuses(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    await _populate(connection)

    marked = await client.patch(
        f"{LIST}shop-2/", json={"date_deprecated": STAMP}, headers=write_headers
    )
    assert marked.status_code == 200, marked.text
    assert await _ids(client, f"{LIST}?status=deprecated") == [7, 5, 2]
    assert await _ids(client, f"{LIST}?status=stale") == []

    # Deleting package 1 clears package 7's deprecated_by (ON DELETE SET NULL): its
    # standing goes with it, and its recent commit makes it active.
    deleted = await client.delete(f"{LIST}shop-1/", headers=write_headers)
    assert deleted.status_code == 204, deleted.text
    assert await _ids(client, f"{LIST}?status=active") == [7]
    detail = (await client.get(f"{LIST}shop-7/")).json()
    assert detail["maintenance"]["status"] == "active"


async def test_imported_packages_are_found_by_their_facts(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    category = {"id": 5, "title": "Apps", "slug": "apps", "created": STAMP, "modified": STAMP}
    base = {"category": 5, "created": STAMP, "modified": STAMP}
    packages = [
        {**base, "id": 10, "title": "Old", "slug": "old", "deprecated_by": 11},
        {
            **base,
            "id": 11,
            "title": "New",
            "slug": "new",
            "pypi_classifiers": [DJANGO_52],
            "last_updated": ago(3).isoformat(),
        },
    ]
    async with bound_sessionmaker(connection)() as session:
        await load_records(session, {"categories": [category], "packages": packages})
        await session.commit()

    assert await _ids(client, f"{LIST}?status=deprecated") == [10]  # replaced by 11
    assert await _ids(client, f"{LIST}?status=active&django=5.2") == [11]
