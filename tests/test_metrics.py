"""/metrics: requests by route template and status, latency, the database pool, summed
over every worker process when `serve --workers N` runs several."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.observability.prometheus import forget_dead_workers
from app.observability.requests import UNMATCHED
from tests.conftest import Databases
from tests.test_cli import _stop, serving

Labels = dict[str, str]


def samples(text: str, name: str) -> list[tuple[Labels, float]]:
    return [
        (dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
    return sum(
        v for have, v in samples(text, name) if all(have.get(k) == w for k, w in labels.items())
    )


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)
    await client.get("/api/v4/packages/no-such-package/")
    await client.get("/api/v4/packages/another-missing-one/")
    await client.get("/api/v4/packages/")
    await client.get("/wp-login.php")
    await client.get("/.env")
    after = await scrape(client)

    detail = {"method": "GET", "route": "/api/v4/packages/{key}/"}
    counter = "packages_api_requests_total"
    assert (
        value(after, counter, status="404", **detail)
        - value(before, counter, status="404", **detail)
        == 2
    )
    listed = {"method": "GET", "route": "/api/v4/packages/", "status": "200"}
    assert value(after, counter, **listed) - value(before, counter, **listed) == 1
    # A scanner's guesses share one label: no series per raw path.
    unmatched = {"route": UNMATCHED, "status": "404"}
    assert value(after, counter, **unmatched) - value(before, counter, **unmatched) == 2
    routes = {labels["route"] for labels, _ in samples(after, counter)}
    assert not any("missing" in route or "wp-login" in route for route in routes)
    histogram = "packages_api_request_duration_seconds_count"
    assert value(after, histogram, **detail) - value(before, histogram, **detail) == 2


async def test_the_database_pool_is_reported(client: httpx.AsyncClient, settings: Settings) -> None:
    text = await scrape(client)

    for gauge in (
        "packages_api_db_pool_size",
        "packages_api_db_pool_checked_out",
        "packages_api_db_pool_overflow",
    ):
        assert samples(text, gauge), gauge
    if not settings.is_sqlite:
        assert value(text, "packages_api_db_pool_size") == settings.db_pool_size
    # The scrape itself holds no connection.
    assert value(text, "packages_api_db_pool_checked_out") == 0


async def test_refresher_figures_are_exported(client: httpx.AsyncClient) -> None:
    text = await scrape(client)

    for name in (
        "packages_api_refresh_packages_total",
        "packages_api_upstream_requests_total",
        "packages_api_upstream_rate_limit_remaining",
        "packages_api_refresh_last_success_timestamp_seconds",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


async def test_metrics_can_be_turned_off(app_factory: Any, database_url: str) -> None:
    app = await app_factory(Settings(database_url=database_url, metrics_enabled=False))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        assert (await client.get("/metrics")).status_code == 404


def _metrics_dirs(parent: Path) -> list[Path]:
    return list(parent.glob("packages-api-metrics-*"))


def _counter_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("counter_*.db"))


async def test_counts_add_up_over_several_workers(databases: Databases, tmp_path: Path) -> None:
    url = await databases.fresh()
    # TMPDIR: where serve makes its private metrics directory, so the test can look.
    async with serving(url, tmp_path, "--workers", "2", TMPDIR=str(tmp_path)) as server:
        (directory,) = _metrics_dirs(tmp_path)
        # A new connection per request; the kernel hands each to whichever worker accepts
        # first, so keep going until both have answered some (each then has its own file).
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=server.base_url, trust_env=False, limits=limits
        ) as client:
            sent = 0
            while sent < 20 or (len(_counter_files(directory)) < 2 and sent < 500):
                burst = await asyncio.gather(*(client.get("/api/v4/packages/") for _ in range(5)))
                assert all(r.status_code == 200 for r in burst)
                sent += len(burst)
            counters = _counter_files(directory)
            counted = []
            for _ in range(10):
                text = await scrape(client)
                counted.append(
                    value(
                        text,
                        "packages_api_requests_total",
                        route="/api/v4/packages/",
                        status="200",
                    )
                )
        code = await _stop(server)

    assert code == 0, server.output()
    assert len(counters) == 2, counters
    # Every scrape, whichever worker answers it, sums both workers' counts.
    assert counted == [sent] * 10
    # The private directory goes when serve stops.
    assert _metrics_dirs(tmp_path) == []


async def test_connections_in_use_show_in_the_pool_gauges(
    app: Any, client: httpx.AsyncClient
) -> None:
    async with app.state.engine.connect() as held:
        busy = await scrape(client)
        await held.close()
    idle = await scrape(client)

    assert value(busy, "packages_api_db_pool_checked_out") == 1
    assert value(idle, "packages_api_db_pool_checked_out") == 0


def test_a_dead_workers_pool_gauges_are_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    alive = os.getpid()
    for pid in (dead, alive):
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
        (tmp_path / f"counter_{pid}.db").write_bytes(b"")

    forget_dead_workers()

    # Counts stay (they are the service's history); the dead worker's live gauges go.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{dead}.db", f"counter_{alive}.db", f"gauge_livesum_{alive}.db"]
    )
