"""The Atom feeds through HTTP: valid by RFC 4287's schema and rules (atom_spec), read by
feedparser as feed readers do, newest first, scoped to their grid or category, with ETags."""

from __future__ import annotations

import feedparser
import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Category, Grid, GridPackage, Package
from tests.conftest import bound_sessionmaker
from tests.factories import create_category, create_grid, create_package, load_seeds
from tests.feeds.atom_spec import problems


def _parsed(response: httpx.Response) -> feedparser.FeedParserDict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert problems(response.content) == []
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


async def test_packages_feed_lists_new_packages_newest_first(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    category = await create_category(client, write_headers, title="Apps")
    titles = []
    for number in range(3):
        package = await create_package(
            client,
            write_headers,
            title=f"Shop <{number}> & co",
            category=category["id"],
            repo_url=f"https://github.com/o/shop-{number}",
        )
        titles.append(package["title"])
    parsed = _parsed(await client.get("/feeds/packages.atom"))
    assert [entry.title for entry in parsed.entries] == titles[::-1]
    first = parsed.entries[0]
    assert first.link == "https://github.com/o/shop-2"
    related = [link.href for link in first.links if link.rel == "related"]
    assert related == [f"http://testserver/api/v4/packages/{package['id']}/"]
    assert first.tags[0].term == "Apps"
    assert len({entry.id for entry in parsed.entries}) == 3
    assert parsed.feed.links[0].href == "http://testserver/feeds/packages.atom"


async def test_an_empty_directory_is_a_valid_empty_feed(client: httpx.AsyncClient) -> None:
    parsed = _parsed(await client.get("/feeds/packages.atom"))
    assert parsed.entries == []


async def test_grid_feed_lists_its_packages_by_when_they_joined(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    records = await load_seeds(connection)
    async with bound_sessionmaker(connection)() as session:
        session.add(Grid(id=999, title="Empty", slug="empty"))
        await session.commit()
    grid_id = int(records[0]["grids"][0].rstrip("/").rsplit("/", 1)[1])
    members = {r["title"] for r in records if records[0]["grids"][0] in r["grids"]}
    by_slug = _parsed(await client.get(f"/feeds/grids/grid-{grid_id}.atom"))
    by_id = await client.get(f"/feeds/grids/{grid_id}.atom")
    assert {entry.title for entry in by_slug.entries} == members
    assert by_id.content == (await client.get(f"/feeds/grids/grid-{grid_id}.atom")).content
    assert _parsed(await client.get("/feeds/grids/empty.atom")).entries == []


async def test_category_feed_holds_only_its_packages(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    async with bound_sessionmaker(connection)() as session:
        session.add_all([Category(id=1, title="A", slug="a"), Category(id=2, title="B", slug="b")])
        await session.flush()
        session.add_all(
            Package(id=n, title=f"P{n}", slug=f"p{n}", category_id=1 + n % 2) for n in range(1, 6)
        )
        session.add(Grid(id=1, title="G", slug="g"))
        await session.flush()
        session.add(GridPackage(grid_id=1, package_id=1))
        await session.commit()
    parsed = _parsed(await client.get("/feeds/categories/2.atom"))
    assert sorted(entry.title for entry in parsed.entries) == ["P1", "P3", "P5"]
    # No repository nor PyPI page: the entry carries its content instead of a link.
    assert all(entry.content for entry in parsed.entries)


async def test_feeds_answer_304_to_their_etag_and_change_with_a_new_package(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    category = await create_category(client, write_headers)
    await create_package(client, write_headers, title="One", category=category["id"])
    first = await client.get("/feeds/packages.atom")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=60"
    unchanged = await client.get("/feeds/packages.atom", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    await create_package(client, write_headers, title="Two", category=category["id"])
    changed = await client.get("/feeds/packages.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


async def test_unknown_grid_or_category_is_a_404(
    client: httpx.AsyncClient, write_headers: dict[str, str]
) -> None:
    await create_grid(client, write_headers, title="Real")
    for path in (
        "/feeds/grids/nothing.atom",
        "/feeds/categories/77.atom",
        "/feeds/categories/x.atom",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
