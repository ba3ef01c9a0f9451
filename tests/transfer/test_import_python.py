"""The import job from Python (app.transfer.jobs.run_import) against the fake djangopackages:
what a second run, a changed source, faults and refusals do to the database."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.services.tokens import TokenService
from app.transfer.jobs import ImportResult, run_import
from app.transfer.source_http import HttpSource
from tests.conftest import Databases
from tests.transfer.fake_api import FakeApi, Fault
from tests.transfer.helpers import api_get, api_write, snapshot


async def _import(url: str, root: str, *, atomic: bool = False, attempts: int = 2) -> ImportResult:
    return await run_import(
        Settings(database_url=url), HttpSource(root, attempts=attempts), atomic=atomic
    )


def _counts(result: ImportResult, kind: str) -> tuple[int, int, int, int]:
    counts = result.summary.counts[kind]  # type: ignore[index]
    return counts.created, counts.updated, counts.unchanged, counts.refused


async def test_a_second_import_changes_nothing(databases: Databases, fake_root: str) -> None:
    url = await databases.fresh()
    assert (await _import(url, fake_root)).committed
    before = await snapshot(url)

    again = await _import(url, fake_root)

    assert again.committed and again.error is None
    assert _counts(again, "packages") == (0, 0, 2, 0)
    assert _counts(again, "categories") == (0, 0, 1, 0)
    assert _counts(again, "grids") == (0, 0, 4, 0)
    assert _counts(again, "memberships") == (0, 0, 4, 0)
    assert await snapshot(url) == before


async def test_an_updated_source_updates_the_package_and_keeps_its_timestamps(
    databases: Databases, fake_root: str, fake_api: FakeApi
) -> None:
    url = await databases.fresh()
    assert (await _import(url, fake_root)).committed
    shop = next(p for p in fake_api.data["packages"] if p["id"] == 631)
    shop["repo_watchers"] = 4000
    shop["modified"] = "2026-03-01T12:00:00-05:00"

    result = await _import(url, fake_root)

    assert _counts(result, "packages") == (0, 1, 1, 0)
    served = (await api_get(url, "/api/v4/packages/631/")).json()
    assert served["repo_watchers"] == 4000
    assert served["modified"] == "2026-03-01T17:00:00Z"


async def test_a_passing_server_error_is_retried(
    databases: Databases, fake_root: str, fake_api: FakeApi
) -> None:
    url = await databases.fresh()
    fake_api.faults[("grids", 2)] = Fault("flaky")

    result = await _import(url, fake_root)

    assert result.error is None
    assert _counts(result, "grids") == (4, 0, 0, 0)
    assert fake_api.faults[("grids", 2)].hits == 2


async def test_waiting_to_retry_does_not_block_the_event_loop(
    databases: Databases, fake_root: str, fake_api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A blocking sleep in the event loop's thread stops every other task (the progress
    # bars, the other page fetches) for the whole back-off: record any such call.
    blocking: list[float] = []
    real_sleep = time.sleep

    def watched_sleep(seconds: float) -> None:
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            blocking.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", watched_sleep)
    url = await databases.fresh()
    fake_api.faults[("grids", 2)] = Fault("flaky")

    result = await _import(url, fake_root)

    assert fake_api.faults[("grids", 2)].hits == 2  # it did wait and retry
    assert result.error is None
    assert blocking == []


async def test_a_next_link_to_another_host_is_not_followed(
    databases: Databases, fake_root: str, fake_api: FakeApi
) -> None:
    url = await databases.fresh()
    fake_api.faults[("categories", 0)] = Fault("foreign-next")

    result = await _import(url, fake_root, atomic=True)

    assert not result.committed
    assert result.error is not None
    assert "http://elsewhere.example/api/v4/categories/?offset=1" in result.error
    assert "not followed" in result.error
    assert (await snapshot(url))["categories"] == []


async def test_a_pagination_loop_is_stopped(
    databases: Databases, fake_root: str, fake_api: FakeApi
) -> None:
    url = await databases.fresh()
    fake_api.faults[("grids", 1)] = Fault("loop")

    result = await _import(url, fake_root)

    assert result.error is not None and "pagination loop" in result.error
    assert fake_api.faults[("grids", 1)].hits == 1


async def test_with_atomic_one_refusal_changes_nothing(
    databases: Databases, fake_root: str, fake_api: FakeApi
) -> None:
    url = await databases.fresh()
    # A title longer than the original's varchar(50) holds: no source of its shape has it.
    fake_api.data["categories"].append(
        {**fake_api.data["categories"][0], "id": 3, "slug": "apps-2", "title": "A" * 51}
    )
    before = await snapshot(url)

    result = await _import(url, fake_root, atomic=True)

    assert not result.committed
    [problem] = result.summary.refused
    assert (problem.kind, problem.label) == ("categories", "3 (apps-2)")
    assert problem.reason == "title: String should have at most 50 characters"
    assert await snapshot(url) == before


async def test_a_repository_on_an_unknown_host_is_kept_as_the_source_has_it(
    databases: Databases, fake_root: str, fake_api: FakeApi
) -> None:
    url = await databases.fresh()
    fake_api.data["packages"][0]["repo_url"] = "https://launchpad.net/twoscoops"

    result = await _import(url, fake_root)

    assert _counts(result, "packages") == (2, 0, 0, 0)
    assert result.summary.warnings == []
    served = (await api_get(url, "/api/v4/packages/1641/")).json()
    assert (served["repo_url"], served["repo_host"]) == ("https://launchpad.net/twoscoops", "")


async def test_new_packages_get_ids_after_the_imported_ones(
    databases: Databases, fake_root: str
) -> None:
    url = await databases.fresh()
    assert (await _import(url, fake_root)).committed
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            _, token = await TokenService(session).create("ci", "write")
    finally:
        await engine.dispose()

    response = await api_write(
        url, token, "POST", "/api/v4/packages/", {"title": "Newcomer", "category": "apps"}
    )

    assert response.status_code == 201, response.text
    assert response.json()["id"] == 1642
