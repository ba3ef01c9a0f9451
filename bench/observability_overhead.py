"""What the operations middleware costs per request: p50/p95 of a package list page and of
/healthz, with app.observability's middleware installed and with it removed.

    uv run python bench/observability_overhead.py [--requests 2000] 2>/dev/null

In process (httpx's ASGI transport), on a throwaway SQLite file holding 20 packages, so
the figures are the app's own time, without a network or a server in between. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.main import create_app
from app.migrate import upgrade
from app.observability.compression import CompressionMiddleware
from app.observability.headers import SecurityHeadersMiddleware
from app.observability.proxy import ProxyHeadersMiddleware
from app.observability.requests import RequestMiddleware
from app.services.tokens import TokenService

OURS = (ProxyHeadersMiddleware, RequestMiddleware, CompressionMiddleware, SecurityHeadersMiddleware)


async def _token(app: Any) -> str:
    async with app.state.sessionmaker() as session:
        _, plain = await TokenService(session).create("bench", "write")
        await session.commit()
    return plain


async def _time(client: httpx.AsyncClient, path: str, count: int, encoding: str) -> list[float]:
    headers = {"Accept-Encoding": encoding}
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        response = await client.get(path, headers=headers)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return timings


CASES = {
    # Accept-Encoding as browsers and most clients send it: gzip is part of the cost.
    "list page, gzip": ("/api/v4/packages/", "gzip"),
    "list page, identity": ("/api/v4/packages/", "identity"),
    "/healthz": ("/healthz", "gzip"),
}


async def _seed(client: httpx.AsyncClient, app: Any) -> None:
    auth = {"Authorization": f"Bearer {await _token(app)}"}
    category = await client.post("/api/v4/categories/", json={"title": "Apps"}, headers=auth)
    for n in range(20):
        created = await client.post(
            "/api/v4/packages/",
            json={
                "title": f"Package {n}",
                "category": category.json()["url"],
                "repo_url": f"https://github.com/o/p{n}",
            },
            headers=auth,
        )
        assert created.status_code == 201, created.text


async def measure(url: str, count: int) -> dict[str, dict[bool, list[float]]]:
    """Both apps side by side, measured in alternating rounds of 100 requests, so a busy
    machine's ups and downs fall on both alike."""
    # Access lines are written (to stderr: redirect it) as in production.
    # No read cache: the same requests repeat, and hits would hide the rendering they wrap.
    settings = Settings(database_url=url, log_format="json", cache_enabled=False)
    apps = {True: create_app(settings), False: create_app(settings)}
    apps[False].user_middleware = [m for m in apps[False].user_middleware if m.cls not in OURS]
    results: dict[str, dict[bool, list[float]]] = {name: {True: [], False: []} for name in CASES}
    async with (
        apps[True].router.lifespan_context(apps[True]),
        apps[False].router.lifespan_context(apps[False]),
    ):
        clients = {
            installed: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            )
            for installed, app in apps.items()
        }
        await _seed(clients[True], apps[True])
        for name, (path, encoding) in CASES.items():
            for installed in (True, False):  # warm-up: first-use caches, the route table
                await _time(clients[installed], path, 50, encoding)
            for _ in range(count // 100):
                for installed in (True, False):
                    results[name][installed] += await _time(clients[installed], path, 100, encoding)
        for client in clients.values():
            await client.aclose()
    return results


async def _body(url: str) -> str:
    app = create_app(Settings(database_url=url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            return (await client.get("/api/v4/packages/")).text


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1]


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        await asyncio.to_thread(upgrade, Settings(database_url=url))
        results = await measure(url, count)
        body = await _body(url)
    print(f"{count} requests each, in process; milliseconds; list body {len(body)} bytes")
    print(f"{'':22} {'p50 with':>9} {'p50 without':>12} {'overhead':>9} {'p95 with':>9}")
    for name, timings in results.items():
        with_, without = timings[True], timings[False]
        p50, p50_without = statistics.median(with_), statistics.median(without)
        print(
            f"{name:22} {p50:9.3f} {p50_without:12.3f} {p50 - p50_without:9.3f} "
            f"{_quantile(with_, 0.95):9.3f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
