"""`packages-api sync`: a mirror follows a packages-api's change feed, or imports in full."""

from __future__ import annotations

import fcntl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.models import Change, SyncState
from app.transfer import sync as sync_module
from app.transfer.jobs import run_import
from app.transfer.source_http import FetchError, HttpSource
from app.transfer.sync import lock_number, run_sync
from tests.conftest import Databases
from tests.transfer.fake_api import serve_on_loopback
from tests.transfer.helpers import api_client, bearer, every, run, snapshot, write_token

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


@asynccontextmanager
async def _served(
    url: str, paths: list[str], failing: set[str] | None = None
) -> AsyncIterator[str]:
    """Our API on the database at `url`, on loopback; each request's path is noted, and
    the paths in `failing` answer 500 (until removed from the set)."""
    app = create_app(Settings(database_url=url))

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            paths.append(scope["path"])
            if failing and scope["path"] in failing:
                await send({"type": "http.response.start", "status": 500, "headers": []})
                await send({"type": "http.response.body", "body": b"down"})
                return
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


async def _mirrored(databases: Databases, fake_root: str) -> tuple[str, str, str]:
    """A source directory (the fake djangopackages imported), a write token, a mirror."""
    source = await databases.fresh()
    assert (await run_import(Settings(database_url=source), HttpSource(fake_root))).committed
    return source, await write_token(source), await databases.fresh()


async def _stored(url: str) -> list[int | None]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session:
            return list((await session.scalars(select(SyncState.last_seq))).all())
    finally:
        await engine.dispose()


async def _execute(url: str, statement: Any) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as connection:
            await connection.execute(statement)
    finally:
        await engine.dispose()


async def _retitle(url: str, token: str, package_ids: list[int]) -> None:
    async with api_client(url) as client:
        for number, package_id in enumerate(package_ids):
            response = await client.patch(
                f"/api/v4/packages/{package_id}/",
                json={"title": f"Retitled {number}"},
                headers=bearer(token),
            )
            assert response.status_code == 200, response.text


async def test_a_run_stopped_by_a_failure_resumes_where_it_stopped(
    databases: Databases, fake_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, token, mirror = await _mirrored(databases, fake_root)
    failing: set[str] = set()
    async with _served(source, [], failing) as root:
        first = await run_sync(Settings(database_url=mirror), root)
        assert first.mode == "full" and first.seq is not None
        async with api_client(source) as client:
            ids = [p["id"] for p in await every(client, "/api/v4/packages/")]
        await _retitle(source, token, ids)
        monkeypatch.setattr(sync_module, "PAGE_SIZE", 1)
        failing.add(f"/api/v4/packages/{ids[1]}/")

        with pytest.raises(FetchError):
            await run_sync(Settings(database_url=mirror), root, attempts=1)
        # The first event's page was committed with its seq; the failed one was not.
        assert await _stored(mirror) == [first.seq + 1]
        titles = {p["id"]: p["title"] for p in (await _records(mirror))["packages"]}
        assert titles[ids[0]] == "Retitled 0" and titles[ids[1]] != "Retitled 1"

        failing.clear()
        resumed = await run_sync(Settings(database_url=mirror), root)
        assert (resumed.mode, resumed.events, resumed.seq) == ("changes", 1, first.seq + 2)
        assert await _records(mirror) == await _records(source)


async def test_a_position_older_than_the_feed_keeps_means_a_full_import(
    databases: Databases, fake_root: str
) -> None:
    source, token, mirror = await _mirrored(databases, fake_root)
    async with _served(source, []) as root:
        assert (await run_sync(Settings(database_url=mirror), root)).mode == "full"
        async with api_client(source) as client:
            ids = [p["id"] for p in await every(client, "/api/v4/packages/")]
        await _retitle(source, token, ids)
        # The feed pruned everything but its newest event; the mirror stands further back.
        newest = select(func.max(Change.seq)).scalar_subquery()
        await _execute(source, delete(Change).where(Change.seq < newest))
        await _execute(mirror, update(SyncState).values(last_seq=1))

        result = await run_sync(Settings(database_url=mirror), root)
        assert result.mode == "full"
        assert await _records(mirror) == await _records(source)
        assert await _stored(mirror) == [result.seq]


async def test_a_second_run_while_one_is_at_work_skips(
    databases: Databases, fake_root: str, tmp_path: Path
) -> None:
    source, _token, mirror = await _mirrored(databases, fake_root)
    async with _served(source, []) as root:
        settings = Settings(database_url=mirror)
        if settings.is_sqlite:
            database = make_url(mirror).database
            with open(f"{database}.sync.lock", "a") as handle:  # noqa: ASYNC230
                fcntl.flock(handle, fcntl.LOCK_EX)
                result = await run(mirror, "sync", root, cwd=tmp_path)
        else:
            engine = create_engine(settings)
            try:
                async with engine.connect() as connection:
                    await connection.execute(
                        text("SELECT pg_advisory_lock(:key)"), {"key": lock_number(root)}
                    )
                    result = await run(mirror, "sync", root, cwd=tmp_path)
            finally:
                await engine.dispose()
        assert (result.code, result.stdout) == (0, f"skipped: another sync of {root} is running\n")
        assert await _stored(mirror) == []
        done = await run(mirror, "sync", root, cwd=tmp_path)
        assert done.stdout.startswith("full import from"), done.stdout + done.stderr
