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
from app.repositories.tokens import TokenRepository

OURS = (ProxyHeadersMiddleware, RequestMiddleware, CompressionMiddleware, SecurityHeadersMiddleware)


async def _token(app: Any) -> str:
    async with app.state.sessionmaker() as session:
        _, plain = await TokenRepository(session).create("bench", "write")
        await session.commit()
    return plain


async def _timings(
    client: httpx.AsyncClient, path: str, count: int, encoding: str = "gzip"
) -> list[float]:
    headers = {"Accept-Encoding": encoding}
    for _ in range(50):  # warm-up: first-use caches, the route table
        await client.get(path, headers=headers)
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        response = await client.get(path, headers=headers)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return timings


async def measure(url: str, with_middleware: bool, count: int) -> dict[str, list[float]]:
    # Access lines are written (to stderr: redirect it) as in production.
    app = create_app(Settings(database_url=url, log_format="json"))
    if not with_middleware:
        app.user_middleware = [m for m in app.user_middleware if m.cls not in OURS]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            if with_middleware:
                token = await _token(app)
                category = await client.post(
                    "/api/v4/categories/",
                    json={"title": "Apps"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                for n in range(20):
                    created = await client.post(
                        "/api/v4/packages/",
                        json={
                            "title": f"Package {n}",
                            "category": category.json()["url"],
                            "repo_url": f"https://github.com/o/p{n}",
                        },
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    assert created.status_code == 201, created.text
            return {
                # Accept-Encoding as browsers and most clients send it: gzip is part of the cost.
                "list page, gzip": await _timings(client, "/api/v4/packages/", count),
                "list page, identity": await _timings(
                    client, "/api/v4/packages/", count, "identity"
                ),
                "/healthz": await _timings(client, "/healthz", count),
            }


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
        with_ = await measure(url, True, count)
        without = await measure(url, False, count)
        body = await _body(url)
    size = len(body.encode())
    print(f"{count} requests each, in process; milliseconds; list body {size} bytes before gzip")
    print(f"{'':26} {'p50 with':>9} {'p50 without':>12} {'overhead':>9} {'p95 with':>9}")
    for name, timings in with_.items():
        p50, p50_without = statistics.median(timings), statistics.median(without[name])
        print(
            f"{name:26} {p50:9.3f} {p50_without:12.3f} {p50 - p50_without:9.3f} "
            f"{_quantile(timings, 0.95):9.3f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
