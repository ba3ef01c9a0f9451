"""Values the original's rows hold that a user's write would not make, imported and then used
through the API: shared category slugs, null documentation URLs, old URL spellings, long
texts. Reads serve them as imported; writes that send them back keep them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.errors import Conflict
from app.models import Category
from app.schemas.category import CategoryIn
from app.services.categories import CategoryService
from app.transfer import load_records
from tests.conftest import Databases, bound_sessionmaker

STAMP = "2011-02-12T20:04:57.388326-05:00"
Headers = dict[str, str]


def _category(category_id: int, slug: str, title: str = "Apps") -> dict[str, Any]:
    return {"id": category_id, "title": title, "slug": slug, "created": STAMP, "modified": STAMP}


def _package(package_id: int, category: int, **values: Any) -> dict[str, Any]:
    return {
        "id": package_id,
        "title": f"Package {package_id}",
        "slug": f"package-{package_id}",
        "category": category,
        "created": STAMP,
        "modified": STAMP,
        **values,
    }


async def _import(connection: AsyncConnection, **records: list[dict[str, Any]]) -> None:
    async with bound_sessionmaker(connection)() as session:
        summary = await load_records(session, records)  # type: ignore[arg-type]
        await session.commit()
    assert summary.refused == [] and summary.warnings == []


async def _ids(client: httpx.AsyncClient, query: str) -> list[int]:
    response = await client.get(f"/api/v4/packages/?{query}")
    assert response.status_code == 200, response.text
    return [package["id"] for package in response.json()["results"]]


async def test_a_slug_two_categories_share_names_the_lowest_id_and_ids_stay_exact(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers
) -> None:
    await _import(
        connection,
        categories=[
            _category(9, "apps", "Apps (old)"),
            _category(4, "apps"),
            _category(7, "tools"),
        ],
        packages=[_package(1, 9), _package(2, 4), _package(3, 7)],
    )

    by_slug = await client.get("/api/v4/categories/apps/")
    assert by_slug.status_code == 200
    assert (by_slug.json()["id"], by_slug.json()["title"]) == (4, "Apps")
    assert (await client.get("/api/v4/categories/9/")).json()["title"] == "Apps (old)"
    # Both are listed, each with the slug the source gave it.
    listed = (await client.get("/api/v4/categories/")).json()["results"]
    assert [(c["id"], c["slug"]) for c in listed] == [(9, "apps"), (7, "tools"), (4, "apps")]
    # The filter means what the detail means; an id is exact.
    assert await _ids(client, "category=apps") == [2]
    assert await _ids(client, "category=9") == [1]
    # A reference by slug in a write, too.
    created = await client.post(
        "/api/v4/packages/", json={"title": "New", "category": "apps"}, headers=write_headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["category"] == "http://testserver/api/v4/categories/4/"


async def test_a_user_cannot_make_a_slug_shared_but_can_edit_a_category_that_has_one(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers
) -> None:
    await _import(connection, categories=[_category(9, "apps"), _category(4, "apps")])

    taken = await client.post(
        "/api/v4/categories/", json={"title": "Apps", "slug": "apps"}, headers=write_headers
    )
    tools = await client.post("/api/v4/categories/", json={"title": "Tools"}, headers=write_headers)
    renamed = await client.patch(tools.json()["url"], json={"slug": "apps"}, headers=write_headers)
    old = (await client.get("/api/v4/categories/9/")).json()
    put_back = await client.put(
        old["url"], json={**old, "title": "Apps, old"}, headers=write_headers
    )

    assert taken.status_code == 409, taken.text
    assert taken.json()["detail"] == "A category with this slug already exists."
    assert taken.json()["errors"][0]["field"] == "slug"
    assert renamed.status_code == 409
    # Keeping the slug it shares is no new conflict.
    assert put_back.status_code == 200, put_back.text
    assert (put_back.json()["slug"], put_back.json()["title"]) == ("apps", "Apps, old")


async def test_an_imported_package_is_served_and_put_back_as_the_source_had_it(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers
) -> None:
    imported = {
        "repo_url": "http://www.github.com/Awesto/Django-Shop.git/",
        "pypi_url": "django-shop",
        "documentation_url": None,
        "repo_description": "d" * 1500,
        "commits_over_52": [],
        "participants": ["jrief", "Ann-Marie.B"],
        "last_updated": None,
        "last_fetched": None,
        "pypi_version": None,
    }
    await _import(
        connection,
        categories=[_category(2, "apps")],
        packages=[_package(631, 2, slug="Django-SHOP", **imported)],
    )

    got = await client.get("/api/v4/packages/Django-SHOP/")
    served = got.json()
    put = await client.put(
        served["url"],
        json={**served, "title": "django SHOP"},
        headers={**write_headers, "If-Match": got.headers["etag"]},
    )
    nulled = await client.patch(
        served["url"], json={"documentation_url": ""}, headers=write_headers
    )
    again = await client.patch(
        served["url"], json={"documentation_url": None}, headers=write_headers
    )

    assert {key: served[key] for key in imported} == imported
    assert served["repo_host"] == "github"  # the repository its URL names
    assert put.status_code == 200, put.text
    assert {key: put.json()[key] for key in imported} == imported
    assert put.json()["title"] == "django SHOP"
    assert nulled.json()["documentation_url"] == ""
    assert again.status_code == 200, again.text
    assert again.json()["documentation_url"] is None
    # A URL a user changes is normalized, as always.
    moved = await client.patch(
        served["url"],
        json={"repo_url": "git@github.com:Awesto/Django-Shop-NG.git"},
        headers=write_headers,
    )
    assert moved.json()["repo_url"] == "https://github.com/awesto/django-shop-ng"


async def test_a_grid_keeps_a_description_longer_than_the_form_allows(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: Headers
) -> None:
    long = "Ω" * 1001 + " ..."
    await _import(
        connection,
        grids=[
            {"id": 5, "title": "t" * 100, "slug": "Grid-50" + "x" * 43, "description": long,
             "created": STAMP, "modified": STAMP}
        ],
    )  # fmt: skip

    served = (await client.get("/api/v4/grids/5/")).json()
    patched = await client.patch("/api/v4/grids/5/", json={"header": True}, headers=write_headers)

    assert (served["description"], served["title"], len(served["slug"])) == (long, "t" * 100, 50)
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == long
    # A user's own description still meets the original's form limit.
    too_long = await client.patch(
        "/api/v4/grids/5/", json={"description": long}, headers=write_headers
    )
    assert too_long.status_code == 422


async def _waiting_or_done(task: asyncio.Task[Any], engine: AsyncEngine) -> None:
    """Until `task` finished, or (PostgreSQL) waits for an advisory lock; SQLite's second
    writer waits for the database's write lock from its BEGIN IMMEDIATE on."""
    postgresql = engine.dialect.name == "postgresql"
    for _ in range(1000 if postgresql else 20):
        if task.done():
            return
        if postgresql:
            async with engine.connect() as connection:
                waiting = await connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    )
                )
            if waiting:
                return
        await asyncio.sleep(0.01)


async def test_two_users_taking_one_category_slug_at_once_get_one_category(
    databases: Databases,
) -> None:
    # The column is not unique (imports keep shared slugs), so the API's own check must not
    # let two writers both find the slug free: the second waits for the first's commit.
    url = await databases.fresh()
    engine = create_engine(Settings(database_url=url))
    maker = create_sessionmaker(engine)

    async def create(session: AsyncSession) -> int:
        await session.connection(execution_options={"sqlite_write": True})
        category = await CategoryService(session).create(CategoryIn(title="Apps", slug="apps"))
        return category.id

    try:
        async with maker() as first:
            await create(first)
            async with maker() as second:
                racing = asyncio.create_task(create(second))
                await _waiting_or_done(racing, engine)
                await first.commit()
                with pytest.raises(Conflict, match="slug already exists"):
                    await racing
        async with maker() as session:
            slugs = (await session.scalars(select(Category.slug))).all()
        assert slugs == ["apps"]
    finally:
        await engine.dispose()
