"""The read cache through HTTP, on committed databases (both dialects): repeated reads are
hits with the same bytes, and no answer is ever older than a write this worker
acknowledged, nor, once its notification is in, than another process's write."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest

from app.cache.postgres import PostgresWatcher
from app.config import Settings
from app.insights.score import add_months
from app.main import create_app
from app.state import state_of
from tests.cache.conftest import NOTIFIED_WITHIN, Live, _cache
from tests.conftest import Databases


async def test_a_repeated_read_is_a_hit_with_the_same_bytes_and_etag(live: Live) -> None:
    for path in (
        "/api/v4/",
        "/api/v4/packages/",
        "/api/v4/packages/alpha/",
        "/api/v4/categories/",
        "/api/v4/categories/apps/",
        "/api/v4/search/?q=alpha",
    ):
        first = await live.client.get(path)
        second = await live.client.get(path)
        assert first.status_code == second.status_code == 200, (path, first.text)
        assert (_cache(first), _cache(second)) == ("miss", "hit"), path
        assert second.content == first.content, path
        assert second.headers["etag"] == first.headers["etag"], path
        # What a shared cache needs is there on a hit too (kept with the answer).
        assert second.headers["cache-control"].startswith("public"), path


async def test_one_answer_serves_every_accept_and_one_per_encoding(live: Live) -> None:
    path = "/api/v4/packages/?limit=100"  # large enough to be gzipped
    plain = await live.client.get(path, headers={"Accept-Encoding": "identity"})
    other = await live.client.get(
        path, headers={"Accept-Encoding": "identity", "Accept": "application/json"}
    )
    gzipped = await live.client.get(path, headers={"Accept-Encoding": "gzip"})
    again = await live.client.get(path, headers={"Accept-Encoding": "gzip, br"})
    assert (_cache(plain), _cache(other)) == ("miss", "hit")
    assert (_cache(gzipped), _cache(again)) == ("miss", "hit")
    assert gzipped.headers.get("content-encoding") == again.headers.get("content-encoding")
    assert gzipped.content == again.content == plain.content  # httpx decodes the gzip


async def test_if_none_match_is_answered_from_the_cache(live: Live) -> None:
    first = await live.client.get("/api/v4/packages/alpha/")
    etag = first.headers["etag"]
    # A miss with a matching tag still gets its 304 (and fills the cache).
    other = await live.client.get("/api/v4/packages/beta/", headers={"If-None-Match": "*"})
    again = await live.client.get("/api/v4/packages/alpha/", headers={"If-None-Match": etag})
    changed = await live.client.get("/api/v4/packages/alpha/", headers={"If-None-Match": '"x"'})

    assert (other.status_code, _cache(other)) == (304, "miss")
    assert (again.status_code, _cache(again), again.content) == (304, "hit", b"")
    assert again.headers["etag"] == etag
    assert (changed.status_code, _cache(changed)) == (200, "hit")
    assert changed.content == first.content


async def test_a_token_request_never_uses_the_cache(live: Live) -> None:
    await live.client.get("/api/v4/packages/")
    tokened = await live.client.get("/api/v4/packages/", headers=live.headers)
    assert tokened.status_code == 200
    assert _cache(tokened) is None
    assert "private" in tokened.headers["cache-control"]


async def test_errors_and_uncached_routes_are_never_kept(live: Live) -> None:
    for path in ("/api/v4/packages/nope/", "/api/v4/packages/?limit=x&ordering=nope"):
        first = await live.client.get(path)
        second = await live.client.get(path)
        assert first.status_code >= 400 or _cache(second) != "hit", path
        if first.status_code >= 400:
            assert _cache(second) == "miss", path
    # The change feed is a cursor over what changed: never kept.
    await live.client.get("/api/v4/changes/")
    assert _cache(await live.client.get("/api/v4/changes/")) == "miss"


async def test_the_worker_that_acknowledged_a_write_never_serves_the_old_answer(
    live: Live,
) -> None:
    paths = ["/api/v4/packages/alpha/", "/api/v4/packages/", "/api/v4/search/?q=alpha"]
    for path in paths:
        await live.client.get(path)
        assert _cache(await live.client.get(path)) == "hit"

    patched = await live.client.patch(
        "/api/v4/packages/alpha/", json={"title": "Alpha Prime"}, headers=live.headers
    )
    assert patched.status_code == 200, patched.text

    detail = await live.client.get("/api/v4/packages/alpha/")
    listed = await live.client.get("/api/v4/packages/")
    assert detail.json()["title"] == "Alpha Prime"
    assert "Alpha Prime" in [p["title"] for p in listed.json()["results"]]
    assert _cache(detail) == _cache(listed) == "miss"


async def test_a_grid_membership_changes_the_package_and_the_grid(live: Live) -> None:
    made = await live.client.post(
        "/api/v4/grids/", json={"title": "Search", "slug": "search"}, headers=live.headers
    )
    assert made.status_code == 201, made.text
    for path in ("/api/v4/packages/beta/", "/api/v4/grids/search/", "/api/v4/grids/search/table/"):
        await live.client.get(path)
        assert _cache(await live.client.get(path)) == "hit", path

    added = await live.client.post(
        "/api/v4/grids/search/packages/", json={"package": "beta"}, headers=live.headers
    )
    assert added.status_code == 201, added.text

    package = (await live.client.get("/api/v4/packages/beta/")).json()
    grid = (await live.client.get("/api/v4/grids/search/")).json()
    table = (await live.client.get("/api/v4/grids/search/table/")).json()
    assert package["grids"] == [grid["url"]]
    assert grid["packages"] == [package["url"]]
    assert [column["slug"] for column in table["packages"]] == ["beta"]


async def test_another_processes_write_is_seen_and_leaves_other_details_cached(
    live: Live,
) -> None:
    for path in ("/api/v4/packages/alpha/", "/api/v4/packages/beta/", "/api/v4/packages/"):
        await live.client.get(path)
        assert _cache(await live.client.get(path)) == "hit", path

    # As the refresher or an import in another process writes: a Core UPDATE, committed.
    await live.sql("UPDATE packages SET repo_watchers = 77 WHERE slug = 'alpha'")

    fresh = await live.until_fresh(
        "/api/v4/packages/alpha/", lambda body: body["repo_watchers"] == 77
    )
    assert fresh.json()["repo_watchers"] == 77
    listed = await live.client.get("/api/v4/packages/")
    assert {p["slug"]: p["repo_watchers"] for p in listed.json()["results"]}["alpha"] == 77
    # Granularity: the other package's detail was not touched, and stays a hit.
    assert _cache(await live.client.get("/api/v4/packages/beta/")) == "hit"


async def test_a_statement_over_many_rows_and_a_migration_forget_what_they_touch(
    live: Live,
) -> None:
    await live.client.get("/api/v4/packages/beta/")
    assert _cache(await live.client.get("/api/v4/packages/beta/")) == "hit"
    # More rows than a notification lists: every package's answers go.
    await live.sql(
        "WITH RECURSIVE numbers (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers"
        " WHERE n < 120)"
        " INSERT INTO packages (title, slug, category_id, repo_host, repo_description,"
        " repo_watchers, repo_forks, participants, commits_over_52, pypi_url,"
        " documentation_url, pypi_classifiers, score, refresh_error, refresh_failures,"
        " created, modified)"
        " SELECT 'P' || n, 'p-' || n, c.id, '', '', 0, 0, '[]', '[]', '', '', '[]', 0, '', 0,"
        " :now, :now FROM categories c, numbers WHERE c.slug = 'apps'",
        now=dt.datetime.now(dt.UTC),
    )
    await live.sql("UPDATE packages SET repo_forks = 5")
    fresh = await live.until_fresh("/api/v4/packages/beta/", lambda body: body["repo_forks"] == 5)
    assert fresh.json()["repo_forks"] == 5


async def test_a_status_that_time_alone_changes_is_not_kept_past_that_instant(
    live: Live,
) -> None:
    # Its last commit turns twelve whole months old in a moment: active, then stale.
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
    await live.sql(
        "UPDATE packages SET last_updated = :at WHERE slug = 'alpha'", at=add_months(soon, -12)
    )
    first = await live.until_fresh(
        "/api/v4/packages/alpha/", lambda body: body["last_updated"] is not None
    )
    assert first.json()["maintenance"]["status"] == "active"
    assert _cache(await live.client.get("/api/v4/packages/alpha/")) == "hit"

    await asyncio.sleep(max((soon - dt.datetime.now(dt.UTC)).total_seconds(), 0) + 0.1)

    later = await live.client.get("/api/v4/packages/alpha/")
    assert _cache(later) == "miss"
    assert later.json()["maintenance"]["status"] == "stale"


async def test_disabled_the_service_answers_the_same_without_it(databases: Databases) -> None:
    url = await databases.fresh()
    app = create_app(Settings(database_url=url, refresh_enabled=False, cache_enabled=False))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        answers = [await client.get("/api/v4/packages/") for _ in range(2)]
        assert state_of(app).read_cache is None
    assert [a.status_code for a in answers] == [200, 200]
    assert [_cache(a) for a in answers] == [None, None]


async def test_the_writers_fence_waits_for_its_notifications_however_late(
    live: Live, dialect: str
) -> None:
    """PostgreSQL delivers a write's notification at commit, but this worker applies it
    whenever its event loop gets to it: the answer to the write waits for a notification
    of its own sent after the commit, which comes after the write's (commit order)."""
    if dialect != "postgresql":
        pytest.skip("SQLite's worker reads the versions on its next request: nothing to wait for")
    watcher = _postgres_watcher(live)
    handle = watcher._notified
    loop = asyncio.get_running_loop()

    def late(connection: Any, pid: int, channel: str, payload: str) -> None:
        # Every notification applied 0.3 s late, in order.
        loop.call_later(0.3, handle, connection, pid, channel, payload)

    connection = watcher.connection
    assert connection is not None
    await connection.remove_listener("packages_api_cache", handle)
    await connection.add_listener("packages_api_cache", late)
    await live.client.get("/api/v4/packages/alpha/")
    assert _cache(await live.client.get("/api/v4/packages/alpha/")) == "hit"

    patched = await live.client.patch(
        "/api/v4/packages/alpha/", json={"title": "Late"}, headers=live.headers
    )
    assert patched.status_code == 200, patched.text
    assert (await live.client.get("/api/v4/packages/alpha/")).json()["title"] == "Late"


async def test_lost_notifications_empty_the_store_and_bypass_it_until_listening_again(
    live: Live, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("SQLite has no connection to lose: the versions are in the file")
    watcher = _postgres_watcher(live)
    await live.client.get("/api/v4/packages/alpha/")
    assert _cache(await live.client.get("/api/v4/packages/alpha/")) == "hit"
    assert watcher.connection is not None
    pid = watcher.connection.get_server_pid()

    await live.sql("SELECT pg_terminate_backend(:pid)", pid=pid)
    # Written while nobody listens: never notified to this worker.
    await live.sql("UPDATE packages SET repo_watchers = 9 WHERE slug = 'alpha'")

    seen: list[tuple[str | None, int]] = []
    deadline = loop_time() + NOTIFIED_WITHIN
    while loop_time() < deadline:
        answer = await live.client.get("/api/v4/packages/alpha/")
        seen.append((_cache(answer), answer.json()["repo_watchers"]))
        if seen[-1][0] == "hit":
            break
        await asyncio.sleep(0.02)
    # Never the old figure: bypassed while deaf, then filled again once listening.
    assert all(watchers == 9 for _, watchers in seen), seen
    assert seen[-1] == ("hit", 9), seen


def _postgres_watcher(live: Live) -> PostgresWatcher:
    read_cache = state_of(live.app).read_cache
    assert read_cache is not None
    assert isinstance(read_cache.watcher, PostgresWatcher)
    return read_cache.watcher


def loop_time() -> float:
    return asyncio.get_running_loop().time()


async def test_a_list_kept_by_an_activity_status_is_never_kept(live: Live) -> None:
    """Which packages `?status=stale` keeps changes on a date, with no write to say so."""
    for path in ("/api/v4/packages/?status=active,unknown", "/api/v4/search/?q=a&status=stale"):
        await live.client.get(path)
        assert _cache(await live.client.get(path)) == "miss", path
    # A standing (written, never dated) keeps its list cacheable.
    await live.client.get("/api/v4/packages/?status=deprecated")
    assert _cache(await live.client.get("/api/v4/packages/?status=deprecated")) == "hit"
