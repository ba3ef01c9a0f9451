"""What the search triggers cost the refresher's bookkeeping UPDATEs, on SQLite and PostgreSQL.

    uv run python bench/search_claim.py [--packages 20000] [--rounds 200] [--dialect both]

Migrates a throwaway database (a SQLite file in a temporary directory; a database on
BENCH_DATABASE_URL's server, default the local one), loads packages in multi-row INSERTs,
then times, each in its own transaction rolled back afterwards, with the search triggers
as migrated and again with the packages' UPDATE trigger dropped (no search work at all):
  claim UPDATE      the refresher's claim of 50 packages (lease columns, modified = modified)
  release UPDATE    its release of them
  write_many        50 unchanged results (the same score, new bookkeeping): an executemany
  figures UPDATE    50 packages whose stars changed (re-indexed: the work that must stay)
Prints the median and p90 per statement, and the machine's load average.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pg_admin import admin
from sqlalchemy import insert, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.config import Settings
from app.db import create_engine
from app.migrate import upgrade
from app.models import Category, Package
from app.refresh import repository

SERVER_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BATCH = 50
DROP_TRIGGER = {
    "sqlite": "DROP TRIGGER search_packages_update",
    "postgresql": "DROP TRIGGER search_packages_update ON packages",
}


async def load(engine: AsyncEngine, packages: int) -> None:
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as connection:
        await connection.execute(insert(Category).values(id=1, title="Apps", slug="apps"))
        for start in range(0, packages, 500):
            rows: list[dict[str, Any]] = [
                {
                    "title": f"django-thing-{n}",
                    "slug": f"django-thing-{n}",
                    "category_id": 1,
                    "repo_url": f"https://github.com/owner/thing-{n}",
                    "repo_host": "github",
                    "repo_description": f"Does thing number {n} for Django projects",
                    "repo_watchers": n % 900,
                    "repo_forks": n % 90,
                    "participants": ["alice", "bob", f"dev{n}"],
                    "commits_over_52": [0] * 52,
                    "pypi_classifiers": [],
                    "score": n % 500,
                    "last_updated": now,
                    "created": now,
                    "modified": now,
                }
                for n in range(start, min(start + 500, packages))
            ]
            await connection.execute(insert(Package).values(rows))


def _claim(ids: list[int], now: dt.datetime) -> Any:
    # The UPDATE of app.refresh.repository.claim.
    return (
        update(Package)
        .where(Package.id.in_(ids))
        .values(
            refresh_claimed_by="bench",
            refresh_claimed_until=now + dt.timedelta(minutes=5),
            refresh_attempted_at=now,
            modified=Package.modified,
        )
    )


def _release(ids: list[int]) -> Any:
    return (
        update(Package)
        .where(Package.id.in_(ids))
        .values(refresh_claimed_by=None, refresh_claimed_until=None, modified=Package.modified)
    )


Step = Callable[[AsyncConnection, list[int], dt.datetime], Awaitable[None]]


async def _claim_step(connection: AsyncConnection, ids: list[int], now: dt.datetime) -> None:
    await connection.execute(_claim(ids, now))


async def _release_step(connection: AsyncConnection, ids: list[int], now: dt.datetime) -> None:
    await connection.execute(_release(ids))


async def _write_many_step(connection: AsyncConnection, ids: list[int], now: dt.datetime) -> None:
    rows = [
        (
            package_id,
            {
                "score": (package_id - 1) % 500,  # as loaded: unchanged
                "last_fetched": now,
                "refresh_etags": {"repo": '"etag"'},
                "refresh_failures": 0,
                "refresh_retry_at": None,
                "refresh_claimed_by": None,
                "refresh_claimed_until": None,
            },
        )
        for package_id in ids
    ]
    async with AsyncSession(bind=connection) as session:
        await repository.write_many(session, rows)


async def _figures_step(connection: AsyncConnection, ids: list[int], now: dt.datetime) -> None:
    await connection.execute(
        update(Package).where(Package.id.in_(ids)).values(repo_watchers=Package.repo_watchers + 1)
    )


STEPS: list[tuple[str, Step]] = [
    ("claim UPDATE", _claim_step),
    ("release UPDATE", _release_step),
    ("write_many (executemany)", _write_many_step),
    ("figures UPDATE", _figures_step),
]


async def measure(engine: AsyncEngine, packages: int, rounds: int) -> dict[str, list[float]]:
    now = dt.datetime.now(dt.UTC)
    timings: dict[str, list[float]] = {name: [] for name, _ in STEPS}
    for round_ in range(rounds):
        start = 1 + (round_ * BATCH * 7) % (packages - BATCH)
        ids = list(range(start, start + BATCH))
        for name, step in STEPS:
            async with engine.connect() as connection:
                transaction = await connection.begin()
                began = time.perf_counter()
                await step(connection, ids, now)
                timings[name].append((time.perf_counter() - began) * 1000)
                await transaction.rollback()
    return timings


def report(title: str, timings: dict[str, list[float]]) -> None:
    print(title)
    for name, values in timings.items():
        ordered = sorted(values)
        p90 = ordered[int(len(ordered) * 0.9)]
        print(f"  {name:<26} median {statistics.median(values):7.2f} ms   p90 {p90:7.2f} ms")


async def bench(url: str, packages: int, rounds: int) -> None:
    dialect = make_url(url).get_backend_name()
    await asyncio.to_thread(upgrade, Settings(database_url=url))
    engine = create_engine(Settings(database_url=url))
    try:
        started = time.perf_counter()
        await load(engine, packages)
        took = time.perf_counter() - started
        print(f"{dialect}: loaded {packages:,} packages in {took:.1f} s")
        await measure(engine, packages, 5)  # warm caches and the pool
        report(f"{dialect}, search triggers as migrated:", await measure(engine, packages, rounds))
        async with engine.begin() as connection:
            await connection.execute(text(DROP_TRIGGER[dialect]))
        report(f"{dialect}, no packages UPDATE trigger:", await measure(engine, packages, rounds))
    finally:
        await engine.dispose()


async def run(dialects: list[str], packages: int, rounds: int) -> None:
    if "sqlite" in dialects:
        with tempfile.TemporaryDirectory() as directory:
            await bench(f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}", packages, rounds)
    if "postgresql" in dialects:
        name = f"packages_api_bench_{uuid.uuid4().hex[:8]}"
        url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
        await admin(SERVER_URL, f'CREATE DATABASE "{name}"')
        try:
            await bench(url, packages, rounds)
        finally:
            await admin(SERVER_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--packages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--dialect", choices=["sqlite", "postgresql", "both"], default="both")
    arguments = parser.parse_args()
    dialects = ["sqlite", "postgresql"] if arguments.dialect == "both" else [arguments.dialect]
    asyncio.run(run(dialects, arguments.packages, arguments.rounds))


if __name__ == "__main__":
    main()
