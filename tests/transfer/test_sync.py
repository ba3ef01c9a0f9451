"""`packages-api sync`: a mirror follows a packages-api's change feed, or imports in full."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from app.config import Settings
from app.main import create_app
from app.transfer.jobs import run_import
from app.transfer.source_http import HttpSource
from app.transfer.sync import run_sync
from tests.conftest import Databases
from tests.transfer.fake_api import serve_on_loopback
from tests.transfer.helpers import api_client, bearer, every, run, snapshot, write_token

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


@asynccontextmanager
async def _served(url: str, paths: list[str]) -> AsyncIterator[str]:
    """Our API on the database at `url`, on loopback; each request's path is noted."""
    app = create_app(Settings(database_url=url))

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            paths.append(scope["path"])
        await app(scope, receive, send)

    async with app.router.lifespan_context(app), serve_on_loopback(counting) as base:
        yield f"{base}/api/v4/"


async def _records(url: str) -> dict[str, list[dict[str, Any]]]:
    async with api_client(url) as client:
        return {
            name: await every(client, f"/api/v4/{name}/")
            for name in ("categories", "grids", "packages")
        }


async def test_a_mirror_follows_the_change_feed_and_gets_only_the_changes(
    databases: Databases, fake_root: str, tmp_path: Path
) -> None:
    source = await databases.fresh()
    assert (await run_import(Settings(database_url=source), HttpSource(fake_root))).committed
    token = await write_token(source)
    mirror = await databases.fresh()
    paths: list[str] = []

    async with _served(source, paths) as root:
        first = await run(mirror, "sync", root, cwd=tmp_path)
        assert first.code == 0, first.stderr
        assert first.stdout.startswith("full import from"), first.stdout
        full_requests = len(paths)
        assert await _records(mirror) == await _records(source)

        async with api_client(source) as client:
            packages = await every(client, "/api/v4/packages/")
            created = await client.post(
                "/api/v4/packages/",
                json={
                    "title": "Sync Me",
                    "slug": "sync-me",
                    "category": 2,
                    "repo_url": "https://github.com/example/sync-me",
                },
                headers=bearer(token),
            )
            assert created.status_code == 201, created.text
            edited = await client.patch(
                f"/api/v4/packages/{packages[0]['id']}/",
                json={"title": "Renamed upstream"},
                headers=bearer(token),
            )
            assert edited.status_code == 200, edited.text
            deleted = await client.delete(
                f"/api/v4/packages/{packages[1]['id']}/", headers=bearer(token)
            )
            assert deleted.status_code == 204, deleted.text

        paths.clear()
        second = await run(mirror, "sync", root, cwd=tmp_path)
        assert second.code == 0, second.stderr
        # Created, updated, deleted, and the grids the deleted package was in.
        assert " change(s) from " in second.stdout
        assert "(2 upserted, 1 deleted; now at seq" in second.stdout, second.stdout
        assert 0 < len(paths) < full_requests / 2, (paths, full_requests)
        mirrored = await _records(mirror)
        assert mirrored == await _records(source)
        titles = {p["title"] for p in mirrored["packages"]}
        assert {"Sync Me", "Renamed upstream"} <= titles
        assert packages[1]["id"] not in {p["id"] for p in mirrored["packages"]}

        before = await snapshot(mirror)
        again = await run_sync(Settings(database_url=mirror), root)
        assert (again.mode, again.events) == ("changes", 0)
        assert await snapshot(mirror) == before


async def test_a_source_without_a_change_feed_is_imported_in_full(
    databases: Databases, fake_root: str, tmp_path: Path
) -> None:
    mirror = await databases.fresh()
    for _ in range(2):
        result = await run(mirror, "sync", fake_root, cwd=tmp_path)
        assert result.code == 0, result.stderr
        assert result.stdout.startswith("full import from"), result.stdout
        assert "no change feed" in result.stdout
    async with api_client(mirror) as client:
        assert len(await every(client, "/api/v4/packages/")) > 0


async def test_a_source_that_cannot_be_read_fails_with_a_message(
    databases: Databases, tmp_path: Path
) -> None:
    mirror = await databases.fresh()
    result = await run(mirror, "sync", "http://127.0.0.1:9/api/v4/", "--retries", "0", cwd=tmp_path)
    assert result.code == 1
    assert result.stderr.startswith("error: GET http://127.0.0.1:9/api/v4/"), result.stderr
