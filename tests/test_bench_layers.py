"""bench/layers.py measures what each layer adds: the floor behind our middleware must be
the floor with the service's middleware around it (not the floor again), and every layer
must answer the same requests."""

from __future__ import annotations

import httpx
import pytest

from bench.dataset import load
from bench.layers import layers, running, servers
from bench.pg_admin import asyncpg_dsn
from tests.conftest import Databases


@pytest.fixture
async def bench_url(databases: Databases) -> str:
    if databases.dialect == "sqlite":
        pytest.skip("the baseline and its floor run on PostgreSQL only")
    return await databases.fresh()


async def test_every_layer_is_measured_and_the_cache_answers_hits(
    bench_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASELINE_DATABASE_URL", "")  # servers() sets it; restored after
    rows = dict(await layers(bench_url, packages=40, requests=30, rounds=1))
    assert list(rows) == [
        "baseline",
        "floor (FastAPI)",
        "floor behind our middleware",
        "service, cache off",
        "service, cache on (hits)",
    ]
    for figures in rows.values():
        assert set(figures) == {"detail", "list page 1"}
        assert all(cpu > 0 for cpu in figures.values())
    # Hits skip the database and the route: an order of magnitude, far beyond any noise.
    for kind in ("detail", "list page 1"):
        assert rows["service, cache on (hits)"][kind] * 3 < rows["service, cache off"][kind]


async def test_the_floor_behind_our_middleware_answers_with_our_headers(
    bench_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASELINE_DATABASE_URL", "")
    await load(asyncpg_dsn(bench_url), 5, echo=False)
    made = dict(servers(asyncpg_dsn(bench_url), bench_url))
    answers = {}
    for name in ("floor (FastAPI)", "floor behind our middleware"):
        app = made[name]()
        async with (
            running(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://b"
            ) as client,
        ):
            answers[name] = await client.get("/api/v4/packages/3/")
    bare, wrapped = answers["floor (FastAPI)"], answers["floor behind our middleware"]
    assert bare.status_code == wrapped.status_code == 200
    assert bare.json() == wrapped.json()
    for header in ("x-request-id", "allow", "cache-control", "x-content-type-options"):
        assert header not in bare.headers
        assert header in wrapped.headers, header
