"""Search is current in the writer's own transaction, whoever writes: the API, a refresher's
plain UPDATE, an importer's bulk INSERT, raw SQL. And `packages-api search rebuild` repairs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db import create_engine
from app.main import create_app
from app.models import Category, Package
from app.refresh import repository as refresh_repository
from app.refresh.repository import Selection
from tests.conftest import Databases, bound_sessionmaker
from tests.factories import create_category, create_grid, create_package
from tests.test_cli import packages_api
from tests.test_search import search, titles


async def test_an_api_edit_is_found_by_its_new_words_at_once(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    await create_category(client, write_headers, slug="apps")
    await create_package(client, write_headers, title="django-anvil", category="apps")
    assert titles(await search(client, "anvil")) == ["django-anvil"]

    response = await client.patch(
        "/api/v4/packages/django-anvil/",
        json={"title": "django-hammer", "slug": "django-hammer"},
        headers=write_headers,
    )
    assert response.status_code == 200
    assert titles(await search(client, "hammer")) == ["django-hammer"]
    assert await search(client, "anvil") == []

    await client.delete("/api/v4/packages/django-hammer/", headers=write_headers)
    assert await search(client, "hammer") == []


async def test_a_refresher_update_in_plain_sql_is_searchable_before_it_commits(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    await create_category(client, write_headers, slug="apps")
    created = await create_package(client, write_headers, title="django-anvil", category="apps")
    before = (await search(client, "anvil"))[0]

    # What a refresher does: metrics and description by UPDATE, no ORM.
    await connection.execute(
        text(
            "UPDATE packages SET repo_description = 'Forges metal objects',"
            " repo_watchers = 50, repo_forks = 30, last_updated = :now WHERE id = :id"
        ),
        {"now": dt.datetime.now(dt.UTC), "id": created["id"]},
    )

    [after] = await search(client, "forges metal")
    assert after["id"] == created["id"]
    assert after["description"] == "Forges metal objects"
    assert (after["repo_watchers"], after["repo_forks"]) == (50, 30)
    assert after["weight"] > before["weight"]
    assert after["last_committed"] is not None


async def _tamper(connection: AsyncConnection, package_id: int) -> None:
    # A mark no trigger writes: still there afterwards, the document was not written again.
    await connection.execute(
        text(
            "UPDATE search_documents SET popularity = -1 WHERE item_type = 'package'"
            " AND item_id = :id"
        ),
        {"id": package_id},
    )


async def _popularity(connection: AsyncConnection, package_id: int) -> int:
    value = await connection.scalar(
        text(
            "SELECT popularity FROM search_documents WHERE item_type = 'package' AND item_id = :id"
        ),
        {"id": package_id},
    )
    return int(value)


async def test_the_refreshers_bookkeeping_does_no_search_work(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    await create_category(client, write_headers, slug="apps")
    created = await create_package(client, write_headers, title="django-anvil", category="apps")
    package_id = created["id"]
    await _tamper(connection, package_id)
    now = dt.datetime.now(dt.UTC)

    async with bound_sessionmaker(connection)() as session:
        [claimed] = await refresh_repository.claim(
            session,
            owner="refresher-1",
            selection=Selection(stale_after=None),
            now=now,
            run_started=now,
            lease=dt.timedelta(minutes=5),
            limit=50,
        )
        assert claimed.id == package_id
        # An unchanged result (all 304s): the same score and modified, new bookkeeping.
        unchanged = {
            "score": created["score"],
            "last_fetched": now,
            "refresh_etags": {"repo": '"abc"'},
            "refresh_failures": 0,
            "refresh_retry_at": None,
            "refresh_claimed_by": None,
            "refresh_claimed_until": None,
        }
        await refresh_repository.write_many(session, [(package_id, unchanged)])
        await refresh_repository.claim(
            session,
            owner="refresher-1",
            selection=Selection(stale_after=None),
            now=now,
            run_started=None,
            lease=dt.timedelta(minutes=5),
            limit=50,
        )
        assert await refresh_repository.release(session, "refresher-1") == 1
        await session.commit()
    assert await _popularity(connection, package_id) == -1

    # A figure that changed is searchable at once, in the writer's transaction.
    async with bound_sessionmaker(connection)() as session:
        changed = {"repo_description": "Forges metal objects", "modified": now}
        await refresh_repository.write_many(session, [(package_id, changed)])
        await session.commit()
    assert await _popularity(connection, package_id) == 40
    assert titles(await search(client, "forges metal")) == ["django-anvil"]


async def test_an_update_of_any_searchable_column_writes_the_document_again(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    await create_category(client, write_headers, slug="apps")
    created = await create_package(client, write_headers, title="django-anvil", category="apps")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    for assignment in [
        "score = score + 1",
        "modified = :later",
        "date_deprecated = :later",
        "participants = '[\"smith\"]'",
        "last_updated = :later",
    ]:
        await _tamper(connection, created["id"])
        await connection.execute(
            text(f"UPDATE packages SET {assignment} WHERE id = :id"),  # noqa: S608 (constants)
            {"id": created["id"], "later": later},
        )
        assert await _popularity(connection, created["id"]) != -1, assignment
    # And a no-op write of every column does nothing.
    await _tamper(connection, created["id"])
    await connection.execute(
        text(
            "UPDATE packages SET title = title, score = score, modified = modified WHERE id = :id"
        ),
        {"id": created["id"]},
    )
    assert await _popularity(connection, created["id"]) == -1

    # A new key (raw SQL; the API never does it): the document follows, none is left behind.
    await connection.execute(text("UPDATE packages SET id = 999 WHERE id = :id"), created)
    assert [hit["id"] for hit in await search(client, "anvil")] == [999]


async def test_an_importers_bulk_insert_is_searchable(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await connection.execute(insert(Category), [{"id": 77, "title": "Imported", "slug": "imp"}])
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = [
        {
            "title": f"django-bulk-{n}",
            "slug": f"django-bulk-{n}",
            "category_id": 77,
            "repo_description": "loaded in one statement",
            "created": now,
            "modified": now,
        }
        for n in range(30)
    ]
    await connection.execute(insert(Package), rows)

    response = await client.get("/api/v4/search/", params={"q": "bulk", "limit": 100})
    assert response.json()["count"] == 30
    assert {hit["category"] for hit in response.json()["results"]} == {"Imported"}


async def test_renaming_a_category_renames_it_in_its_packages_hits(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    await create_category(client, write_headers, title="Apps", slug="apps")
    await create_package(client, write_headers, title="django-anvil", category="apps")
    response = await client.patch(
        "/api/v4/categories/apps/", json={"title": "Blacksmithing"}, headers=write_headers
    )
    assert response.status_code == 200

    [hit] = await search(client, "anvil")
    assert hit["category"] == "Blacksmithing"
    assert titles(await search(client, "blacksmithing")) == ["django-anvil"]


async def test_a_grids_weight_follows_its_packages(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    await create_category(client, write_headers, slug="apps")
    await create_package(client, write_headers, title="django-anvil", category="apps")
    await create_grid(client, write_headers, title="Forges")
    # Not locked, not a header, no packages: three sixths lost (searchv3 calc_grid_weight).
    assert (await search(client, "forges"))[0]["weight"] == 33

    response = await client.post(
        "/api/v4/grids/forges/packages/", json={"package": "django-anvil"}, headers=write_headers
    )
    assert response.status_code == 201, response.text
    assert (await search(client, "forges"))[0]["weight"] == 50

    await client.delete("/api/v4/packages/django-anvil/", headers=write_headers)
    assert (await search(client, "forges"))[0]["weight"] == 33

    await client.delete("/api/v4/grids/forges/", headers=write_headers)
    assert await search(client, "forges") == []


async def test_search_rebuild_restores_a_lost_index(databases: Databases, tmp_path: Path) -> None:
    url = await databases.fresh()
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Category), [{"id": 1, "title": "Apps", "slug": "apps"}])
            await connection.execute(
                insert(Package),
                [{"title": "django-anvil", "slug": "django-anvil", "category_id": 1}],
            )
            # Lost: as after restoring a dump without the search tables' rows.
            await connection.execute(text("DELETE FROM search_documents"))

        result = await packages_api(url, "search", "rebuild", cwd=tmp_path)

        assert result.code == 0, result.stderr
        assert result.stderr.strip() == "search index rebuilt: 1 documents"
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT item_type, title, category FROM search_documents")
            )
            assert rows.all() == [("package", "django-anvil", "Apps")]
    finally:
        await engine.dispose()
    # And the full-text index answers again (on SQLite, FTS5 was rebuilt from the rows).
    app = create_app(Settings(database_url=url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        assert titles(await search(client, "anvil")) == ["django-anvil"]
