"""GET /api/v4/status/ at scale on PostgreSQL: what one uncached read of the status costs,
beside the cheapest read of the same directory (a list page with its kept count).

    uv run python bench/status.py [--packages 300000] [--repeat 20]

Creates a throwaway database on BENCH_DATABASE_URL's server (default: the local one),
migrates it, loads the benchmark directory (bench/dataset.py), marks 2% of the packages
failing, 0.5% pending and 0.1% leased, half of them fetched longer ago than
REFRESH_STALE_HOURS, then times through the real app in-process: the status read with its
cache defeated (each request reads the database), the status read cached, and
`/api/v4/packages/?limit=1` as the baseline. Prints the load average (the machine is
shared); drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

import asyncpg
import httpx
from dataset import load
from pg_admin import admin, asyncpg_dsn
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from app.migrate import upgrade
from app.routers import status as status_router

SERVER_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)

MARKS = (
    "UPDATE packages SET last_fetched = now() - interval '1 hour' WHERE id % 2 = 0",
    "UPDATE packages SET last_fetched = now() - interval '30 hours' WHERE id % 2 = 1",
    "UPDATE packages SET refresh_error = 'github: HTTP 502', refresh_failures = 1,"
    " refresh_retry_at = now() + interval '1 hour' WHERE id % 50 = 0",
    "UPDATE packages SET refresh_retry_at = now() + interval '5 minutes' WHERE id % 200 = 1",
    "UPDATE packages SET refresh_claimed_by = 'bench', refresh_claimed_until = now()"
    " + interval '5 minutes' WHERE id % 1000 = 3",
)


async def timed(client: httpx.AsyncClient, path: str, repeat: int) -> list[float]:
    took: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = await client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return took


def line(name: str, took: list[float]) -> str:
    took = sorted(took)
    p90 = took[int(len(took) * 0.9) - 1]
    return f"  {name:<40} median {statistics.median(took):8.2f} ms   p90 {p90:8.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    name = f"bench_status_{uuid.uuid4().hex[:8]}"
    await admin(SERVER_URL, f'CREATE DATABASE "{name}"')
    url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        settings = Settings(database_url=url, refresh_enabled=False)
        await asyncio.to_thread(upgrade, settings)
        await load(asyncpg_dsn(url), args.packages, echo=False)
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            for statement in MARKS:
                await connection.execute(statement)
            await connection.execute("VACUUM ANALYZE packages")
        finally:
            await connection.close()
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await timed(client, "/api/v4/status/", 3)  # warm the pool and the caches
                cached = await timed(client, "/api/v4/status/", args.repeat)
                baseline = await timed(client, "/api/v4/packages/?limit=1", args.repeat)
                status_router.STATUS_TTL_SECONDS = 0  # every read goes to the database
                uncached = await timed(client, "/api/v4/status/", args.repeat)
                body = (await client.get("/api/v4/status/")).json()
        print(f"status at {args.packages:,} packages (PostgreSQL), {args.repeat} reads each:")
        print(line("baseline: /packages/?limit=1", baseline))
        print(line("/status/ cached (within 5 s)", cached))
        print(line("/status/ uncached (reads the database)", uncached))
        refresher = body["refresher"]
        print(
            f"  due {refresher['due']:,}, pending {refresher['pending']:,}, "
            f"in progress {refresher['in_progress']:,}, failing {refresher['failing']}"
        )
        print(f"  load average {os.getloadavg()[0]:.2f}")
    finally:
        await admin(SERVER_URL, f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
