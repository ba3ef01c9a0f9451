"""Bulk-load benchmark: N generated packages through app.transfer.load_records, both databases.

    uv run python bench/transfer_load.py [N]          # default 10000

Prints records/s for a first load (all inserts) and a second (all unchanged), on SQLite
(a temporary file) and on PostgreSQL (TEST_DATABASE_URL's server, a throwaway database).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.migrate import upgrade
from app.transfer import load_records

POSTGRES = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def generate(count: int) -> dict[str, list[dict[str, Any]]]:
    stamp = "2024-01-02T03:04:05.123456Z"
    categories = [
        {
            "id": c,
            "title": f"Category {c}",
            "slug": f"category-{c}",
            "created": stamp,
            "modified": stamp,
        }
        for c in range(1, 11)
    ]
    packages = [
        {
            "id": n,
            "title": f"Package {n}",
            "slug": f"package-{n}",
            "category": n % 10 + 1,
            "repo_url": f"https://github.com/owner{n % 997}/repo-{n}",
            "pypi_url": f"https://pypi.org/project/package-{n}/",
            "repo_description": "A generated package " * 5,
            "repo_watchers": n * 3,
            "repo_forks": n,
            "participants": [f"user{i}" for i in range(n % 20)],
            "commits_over_52": [n % 7] * 52,
            "last_updated": stamp,
            "last_fetched": stamp,
            "pypi_version": "1.0.0",
            "created": stamp,
            "modified": stamp,
        }
        for n in range(1, count + 1)
    ]
    return {"categories": categories, "packages": packages}


async def measure(url: str, count: int) -> None:
    await asyncio.to_thread(upgrade, Settings(database_url=url))
    engine = create_engine(Settings(database_url=url))
    records = generate(count)
    try:
        for label in ("first load (inserts)", "second load (unchanged)"):
            maker = create_sessionmaker(engine)
            started = time.perf_counter()
            async with maker() as session, session.begin():
                summary = await load_records(session, records)
            elapsed = time.perf_counter() - started
            counts = summary.counts["packages"]
            print(
                f"  {label:<24} {count} packages in {elapsed:6.2f} s = "
                f"{count / elapsed:8.0f} records/s  (created {counts.created}, "
                f"unchanged {counts.unchanged}, refused {counts.refused})"
            )
    finally:
        await engine.dispose()


async def admin(statement: str) -> None:
    engine = create_engine(Settings(database_url=POSTGRES), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        print("sqlite:")
        await measure(f"sqlite+aiosqlite:///{directory}/bench.db", count)
    name = f"bench_transfer_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{name}"')
    try:
        print("postgresql:")
        url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
        await measure(url, count)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
