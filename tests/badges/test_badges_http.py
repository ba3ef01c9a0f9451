"""Badges through HTTP: each kind of a stored package, by id or slug, with its cache
headers, its ETag answered 304, and 404s in the API's error shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncConnection

from app.badges import BADGE_CACHE_CONTROL, KINDS
from app.config import Settings
from app.models import Category, Package
from tests.conftest import bound_sessionmaker
from tests.factories import load_seeds

SVG = "{http://www.w3.org/2000/svg}svg"


def _label(svg: bytes) -> str:
    root = etree.fromstring(svg)
    assert root.tag == SVG
    return str(root.attrib["aria-label"])


async def test_every_kind_is_an_svg_with_cache_headers_by_id_and_slug(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    records = await load_seeds(connection)
    record = records[0]
    for kind in KINDS:
        by_id = await client.get(f"/api/v4/packages/{record['id']}/badges/{kind}.svg")
        by_slug = await client.get(f"/api/v4/packages/{record['slug']}/badges/{kind}.svg")
        assert by_id.status_code == 200, by_id.text
        assert by_id.headers["content-type"].startswith("image/svg+xml")
        assert by_id.headers["cache-control"] == BADGE_CACHE_CONTROL
        assert by_id.headers["etag"].startswith('"')
        assert by_id.content == by_slug.content
        _label(by_id.content)


async def test_badges_say_the_stored_figures(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    records = await load_seeds(connection)
    record = next(r for r in records if r["repo_watchers"] >= 1000)
    stars = await client.get(f"/api/v4/packages/{record['id']}/badges/stars.svg")
    assert _label(stars.content).startswith("stars: ")
    assert "k" in _label(stars.content)
    version = await client.get(f"/api/v4/packages/{record['id']}/badges/version.svg")
    assert _label(version.content) == f"pypi: v{record['pypi_version']}"
    # The maintenance status is the package resource's, by the same rule.
    status = await client.get(f"/api/v4/packages/{record['id']}/badges/status.svg")
    served = (await client.get(f"/api/v4/packages/{record['id']}/")).json()["maintenance"]
    assert _label(status.content) == f"maintenance: {served['status']}"


async def test_versions_come_from_the_classifiers_and_unfetched_figures_are_unknown(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    async with bound_sessionmaker(connection)() as session:
        session.add(Category(id=1, title="Apps", slug="apps"))
        await session.flush()
        session.add(
            Package(
                id=1,
                title="Fresh",
                slug="fresh",
                category_id=1,
                repo_url="https://github.com/o/fresh",
                pypi_classifiers=[
                    "Framework :: Django :: 5.2",
                    "Framework :: Django :: 4.2",
                    "Programming Language :: Python :: 3.12",
                ],
                pypi_requires_python=">=3.12",
            )
        )
        await session.commit()
    labels = {
        kind: _label((await client.get(f"/api/v4/packages/fresh/badges/{kind}.svg")).content)
        for kind in KINDS
    }
    assert labels["django"] == "django: 4.2 | 5.2"
    assert labels["python"] == "python: 3.12"
    assert labels["stars"] == "stars: unknown"
    assert labels["version"] == "pypi: unknown"
    assert labels["activity"] == "activity: unknown"


async def test_if_none_match_gives_304_until_the_figure_changes(
    client: httpx.AsyncClient, connection: AsyncConnection, write_headers: dict[str, str]
) -> None:
    records = await load_seeds(connection)
    url = f"/api/v4/packages/{records[0]['id']}/badges/stars.svg"
    first = await client.get(url)
    etag = first.headers["etag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == BADGE_CACHE_CONTROL
    other = await client.get(url.replace("stars", "version"), headers={"If-None-Match": etag})
    assert other.status_code == 200


@pytest.mark.parametrize("path", ["1/badges/downloads.svg", "no-such-package/badges/stars.svg"])
async def test_unknown_kind_or_package_is_a_404_error_body(
    client: httpx.AsyncClient, connection: AsyncConnection, path: str
) -> None:
    async with bound_sessionmaker(connection)() as session:
        session.add(Category(id=1, title="Apps", slug="apps"))
        await session.flush()
        session.add(Package(id=1, title="P", slug="p", category_id=1))
        await session.commit()
    response = await client.get(f"/api/v4/packages/{path}")
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404
    assert body["code"] == "not_found"


def _message_fill(svg: bytes) -> str:
    """The color of the badge's message box (the second rect of the clipped group)."""
    rects = etree.fromstring(svg).findall(
        ".//{http://www.w3.org/2000/svg}g/{http://www.w3.org/2000/svg}rect"
    )
    return str(rects[1].attrib["fill"])


async def test_the_status_badge_shows_each_maintenance_status_in_its_color(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    now = dt.datetime.now(dt.UTC)
    month = dt.timedelta(days=31)
    facts: dict[str, dict[str, object]] = {
        "active": {"last_updated": now - month},
        "stale": {"last_updated": now - 14 * month, "pypi_last_release": now - 15 * month},
        "inactive": {"pypi_last_release": now - 30 * month},
        "archived": {"last_updated": now - month, "date_repo_archived": now - month},
        "deprecated": {"last_updated": now - month, "date_deprecated": now - month},
        "unknown": {},
    }
    async with bound_sessionmaker(connection)() as session:
        session.add(Category(id=1, title="Apps", slug="apps"))
        await session.flush()
        for number, (status, values) in enumerate(facts.items(), start=1):
            session.add(Package(id=number, title=status, slug=status, category_id=1, **values))
        await session.commit()
    colors = {
        "active": "#44cc11",
        "stale": "#dfb317",
        "inactive": "#fe7d37",
        "archived": "#e05d44",
        "deprecated": "#e05d44",
        "unknown": "#9f9f9f",
    }
    for status in facts:
        badge = await client.get(f"/api/v4/packages/{status}/badges/status.svg")
        served = (await client.get(f"/api/v4/packages/{status}/")).json()["maintenance"]
        assert served["status"] == status
        assert _label(badge.content) == f"maintenance: {status}"
        assert _message_fill(badge.content) == colors[status]


async def test_the_status_badge_follows_the_maintenance_settings(
    app_factory: Callable[[Settings], Awaitable[Any]],
    connection: AsyncConnection,
    database_url: str,
) -> None:
    async with bound_sessionmaker(connection)() as session:
        session.add(Category(id=1, title="Apps", slug="apps"))
        await session.flush()
        last = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
        session.add(Package(id=1, title="P", slug="p", category_id=1, last_updated=last))
        await session.commit()
    strict = await app_factory(
        Settings(
            database_url=database_url,
            maintenance_active_months=1,
            maintenance_stale_months=2,
        )
    )
    transport = httpx.ASGITransport(app=strict)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        badge = await client.get("/api/v4/packages/p/badges/status.svg")
        served = (await client.get("/api/v4/packages/p/")).json()["maintenance"]
    assert served["status"] == "inactive"
    assert _label(badge.content) == "maintenance: inactive"
