"""GET /api/v4/status/: a deployment's health at a glance, read through HTTP as a
monitoring probe or an operator reads it (both databases)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Package
from app.routers import status as status_router
from tests.factories import create_category, create_grid, create_package

STATUS = "/api/v4/status/"
Headers = dict[str, str]


@pytest.fixture
def uncached(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read is fresh, so a test sees its own writes at once."""
    monkeypatch.setattr(status_router, "STATUS_TTL_SECONDS", 0)


async def _status(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(STATUS)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _set(connection: AsyncConnection, package_id: int, **values: Any) -> None:
    await connection.execute(update(Package).where(Package.id == package_id).values(**values))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.mark.usefixtures("uncached")
async def test_counts_and_the_newest_change_follow_the_records_just_created(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    empty = await _status(client)
    assert empty["counts"] == {"packages": 0, "categories": 0, "grids": 0}
    assert empty["newest_change"] is None
    assert empty["refresher"]["last_run"] is None

    category = (await create_category(client, write_headers))["url"]
    for title in ("One", "Two", "Three"):
        await create_package(client, write_headers, title=title, category=category)
    grid = await create_grid(client, write_headers)

    current = await _status(client)
    assert current["counts"] == {"packages": 3, "categories": 1, "grids": 1}
    newest = current["newest_change"]
    assert (newest["resource"], newest["url"]) == ("grid", grid["url"])
    assert newest["url"].startswith("http://testserver/api/v4/grids/")

    package = await create_package(client, write_headers, title="Four", category=category)
    after = await _status(client)
    assert after["counts"]["packages"] == 4
    assert (after["newest_change"]["resource"], after["newest_change"]["url"]) == (
        "package",
        package["url"],
    )
    assert after["newest_change"]["modified"] >= newest["modified"]


@pytest.mark.usefixtures("uncached")
async def test_a_failing_fetch_shows_under_its_forge(
    client: httpx.AsyncClient, write_headers: Headers, connection: AsyncConnection
) -> None:
    category = (await create_category(client, write_headers))["url"]
    hub = await create_package(
        client, write_headers, title="Hub", category=category, repo_url="https://github.com/a/b"
    )
    lab = await create_package(
        client, write_headers, title="Lab", category=category, repo_url="https://gitlab.com/a/b"
    )
    bare = await create_package(
        client,
        write_headers,
        title="Bare",
        category=category,
        pypi_url="https://pypi.org/project/bare/",
    )
    await create_package(
        client, write_headers, title="Fine", category=category, repo_url="https://github.com/c/d"
    )
    later = _now() + dt.timedelta(hours=1)
    for package, error, failures in (
        (hub, "github: HTTP 502", 1),
        (lab, "gitlab: not found", 3),
        (bare, "pypi: HTTP 500", 1),
    ):
        await _set(
            connection,
            package["id"],
            refresh_error=error,
            refresh_failures=failures,
            refresh_error_at=_now(),
            refresh_retry_at=later,
        )

    refresher = (await _status(client))["refresher"]

    assert refresher["failing"] == {"github": 1, "gitlab": 1, "none": 1}
    # Packages backing off after a failure are neither due nor pending.
    assert (refresher["due"], refresher["pending"]) == (1, 0)


@pytest.mark.usefixtures("uncached")
async def test_due_pending_and_in_progress_count_what_the_refresher_would_do(
    client: httpx.AsyncClient, write_headers: Headers, connection: AsyncConnection
) -> None:
    category = (await create_category(client, write_headers))["url"]
    ids = {
        title: (await create_package(client, write_headers, title=title, category=category))["id"]
        for title in ("never", "fresh", "stale", "computing", "leased", "stale-leased")
    }
    now = _now()
    await _set(connection, ids["fresh"], last_fetched=now - dt.timedelta(hours=1))
    await _set(connection, ids["stale"], last_fetched=now - dt.timedelta(hours=30))
    # A forge still computing: retried later, no error recorded.
    await _set(connection, ids["computing"], refresh_retry_at=now + dt.timedelta(minutes=5))
    await _set(
        connection,
        ids["leased"],
        refresh_claimed_by="w",
        refresh_claimed_until=now + dt.timedelta(minutes=5),
    )
    # A lease that ran out (its refresher died) is due again, not in progress.
    await _set(
        connection,
        ids["stale-leased"],
        last_fetched=now - dt.timedelta(hours=48),
        refresh_claimed_by="dead",
        refresh_claimed_until=now - dt.timedelta(minutes=1),
    )

    refresher = (await _status(client))["refresher"]

    assert refresher["stale_hours"] == 24
    assert refresher["due"] == 3  # never, stale, stale-leased
    assert refresher["pending"] == 1
    assert refresher["in_progress"] == 1
    assert refresher["failing"] == {}


async def test_answers_are_cached_briefly_and_say_so(
    client: httpx.AsyncClient, write_headers: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await client.get(STATUS)
    assert first.headers["cache-control"] == "public, max-age=5"
    category = (await create_category(client, write_headers))["url"]
    await create_package(client, write_headers, title="New", category=category)

    cached = await client.get(STATUS)
    assert cached.headers["cache-control"] == "public, max-age=5"
    assert cached.json()["counts"] == first.json()["counts"]
    assert cached.json()["generated_at"] == first.json()["generated_at"]
    again = await client.get(STATUS, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304

    monkeypatch.setattr(status_router, "STATUS_TTL_SECONDS", 0)  # the window has passed
    fresh = await client.get(STATUS)
    assert fresh.json()["counts"]["packages"] == first.json()["counts"]["packages"] + 1
    assert fresh.json()["generated_at"] > first.json()["generated_at"]


async def test_status_is_public_and_documented(client: httpx.AsyncClient) -> None:
    assert (await client.get(STATUS)).status_code == 200  # no token
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"][STATUS]["get"]
    assert operation["tags"] == ["status"]
    assert "refresher" in operation["description"]
    assert "status" in {tag["name"] for tag in document["tags"]}
    assert "/api/v4/status/" in document["info"]["description"]
