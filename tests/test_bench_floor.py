"""bench/fastapi_floor.py answers byte for byte as bench/baseline.py does, so the FastAPI
floor column of bench/api.py measures the framework and nothing else."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bench.baseline import Baseline, open_pool
from bench.dataset import load
from bench.fastapi_floor import create_app
from tests.conftest import Databases

PACKAGES = 130
# The paths bench/api.py drives, and the edges of how the baseline reads a query.
PATHS = [
    "/api/v4/packages/",
    "/api/v4/packages/?limit=7&offset=20",
    "/api/v4/packages/?offset=125",
    "/api/v4/packages/?offset=500",
    "/api/v4/packages/?limit=abc&offset=-3",
    "/api/v4/packages/?limit=&limit=1000",
    "/api/v4/packages/?cursor=",
    "/api/v4/packages/?cursor=60&limit=5&offset=40",
    "/api/v4/packages/?cursor=2",
    "/api/v4/packages/3/",
    "/api/v4/packages/12/",
    "/api/v4/packages/99999999999/",
    "/api/v4/packages/no-such-package/",
    "/api/v4/packages/3",
    "/api/v4/packages//",
    "/api/v4/grids/1/",
]


async def test_the_fastapi_floor_answers_as_the_baseline_byte_for_byte(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    if databases.dialect == "sqlite":
        pytest.skip("the baseline and its floor run on PostgreSQL only")
    url = await databases.fresh()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    await load(dsn, PACKAGES, echo=False)
    monkeypatch.setenv("BASELINE_DATABASE_URL", dsn)
    monkeypatch.setenv("BASELINE_POOL_SIZE", "2")
    baseline = Baseline()
    floor = create_app()
    async with AsyncExitStack() as stack:
        baseline.pool, baseline.list_sql = await open_pool()
        stack.push_async_callback(baseline.pool.close)
        await stack.enter_async_context(floor.router.lifespan_context(floor))
        # A deprecated package, for its `deprecated_by` link.
        await baseline.pool.execute(
            "UPDATE packages SET deprecated_by_id = 3, date_deprecated = now() WHERE id = 12"
        )
        slug = await baseline.pool.fetchval("SELECT slug FROM packages WHERE id = 42")
        apps: list[Any] = [baseline, floor]
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench.test:8080"
                )
            )
            for app in apps
        ]
        answers: dict[str, httpx.Response] = {}
        for path in [*PATHS, f"/api/v4/packages/{slug}/"]:
            theirs, ours = [await client.get(path) for client in clients]
            assert ours.status_code == theirs.status_code, path
            assert ours.content == theirs.content, path
            for header in ("content-type", "content-length"):
                assert ours.headers[header] == theirs.headers[header], (path, header)
            answers[path] = ours
    # The comparison saw full answers, not two empty ones.
    first = answers["/api/v4/packages/"].json()
    assert (first["count"], len(first["results"])) == (PACKAGES, 20)
    assert answers[f"/api/v4/packages/{slug}/"].json()["id"] == 42
    deprecated = answers["/api/v4/packages/12/"].json()
    assert deprecated["deprecated_by"] == "http://bench.test:8080/api/v4/packages/3/"
    assert answers["/api/v4/packages/3"].status_code == 404
