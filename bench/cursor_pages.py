"""Cursor pages against offset pages, and the kept count against COUNT(*), on PostgreSQL.

    uv run python bench/cursor_pages.py [--packages 300000] [--repeat 30] [--limit 20]

Creates a throwaway database on BENCH_DATABASE_URL's server (default: the local one),
migrates it, loads packages by COPY (stars, forks and score with many ties, a third of
`last_updated` NULL; the count triggers run, the search triggers are switched off for the
load: they are not what is measured), then times GET /api/v4/packages/ through the real
app in-process for several orderings: page 1, a page 90% deep by `offset`, and the same
depth by `cursor` (a cursor made for the row there). Then it prints PostgreSQL's EXPLAIN
ANALYZE of the deep cursor page's SELECT (expected: an index scan, no Sort, a handful of
rows read) and of the deep offset page's, and the cost of `count` kept by the triggers
against COUNT(*). Prints the load average (the machine is shared); drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import time
from typing import Any

import asyncpg
from in_process import served, statements_of, throwaway_database
from pg_admin import asyncpg_dsn
from sqlalchemy import select

from app.config import Settings
from app.models import Package
from app.pagination import Cursor, CursorCodec
from app.repositories.keyset import parse_ordering, row_key
from app.repositories.packages import ORDERING_FIELDS

SERVER_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
ORDERINGS = [
    "-id",
    "title",
    "-repo_watchers",
    "repo_forks",
    "last_updated",
    "-last_updated",
    "score",
]
SEARCH_TRIGGERS = ("search_packages_insert",)


async def load(url: str, packages: int, rng: random.Random) -> None:
    now = dt.datetime.now(dt.UTC)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for trigger in SEARCH_TRIGGERS:
            await connection.execute(f"ALTER TABLE packages DISABLE TRIGGER {trigger}")
        await connection.copy_records_to_table(
            "categories",
            columns=[
                "id",
                "title",
                "slug",
                "description",
                "title_plural",
                "show_pypi",
                "created",
                "modified",
            ],
            records=[
                (i, f"Category {i}", f"category-{i}", "", "", True, now, now) for i in range(1, 21)
            ],
        )
        syllables = [c + v for c in "bcdfghjklmnprstvwxyz" for v in "aeiou"]
        columns = [
            "id", "title", "slug", "category_id", "repo_host", "repo_description",
            "repo_watchers", "repo_forks", "participants", "commits_over_52", "last_updated",
            "pypi_url", "documentation_url", "pypi_classifiers", "score", "refresh_error",
            "refresh_failures", "created", "modified",
        ]  # fmt: skip
        batch = []
        for i in range(1, packages + 1):
            word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
            stars = int(rng.paretovariate(1.2)) - 1
            updated = now - dt.timedelta(days=rng.randint(0, 3000)) if rng.random() < 0.67 else None
            batch.append(
                (
                    i, f"django-{word}", f"django-{word}-{i}", rng.randint(1, 20),
                    rng.choice(["github", "gitlab", ""]), "", stars, stars // 5, "[]", "[]",
                    updated, "", "", "[]", rng.randint(0, 100), "", 0, now, now,
                )
            )  # fmt: skip
            if len(batch) == 20_000:
                await connection.copy_records_to_table("packages", columns=columns, records=batch)
                batch = []
        if batch:
            await connection.copy_records_to_table("packages", columns=columns, records=batch)
        for trigger in SEARCH_TRIGGERS:
            await connection.execute(f"ALTER TABLE packages ENABLE TRIGGER {trigger}")
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def _p50(values: list[float]) -> float:
    return statistics.median(values)


async def run(packages: int, repeat: int, limit: int) -> None:
    rng = random.Random(20261123)  # noqa: S311 (reproducible data, not secrets)
    async with throwaway_database(SERVER_URL) as url:
        started = time.perf_counter()
        await load(url, packages, rng)
        print(f"loaded {packages:,} packages in {time.perf_counter() - started:.1f} s")
        codec = CursorCodec.from_settings(Settings(database_url=url))
        depth = packages * 9 // 10
        async with served(url) as (app, client):

            async def timed(params: dict[str, str]) -> float:
                times = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    response = await client.get("/api/v4/packages/", params=params)
                    times.append((time.perf_counter() - began) * 1000)
                    response.raise_for_status()
                    assert len(response.json()["results"]) == limit, params
                return _p50(times)

            plans: dict[str, str] = {}
            print(f"\nGET /api/v4/packages/ p50 ms over {repeat} requests, limit {limit}, "
                  f"deep = row {depth:,} of {packages:,}")  # fmt: skip
            header = ("ordering", "page 1", "cursor 1", "offset deep", "cursor deep")
            print("{:<15} {:>8} {:>9} {:>12} {:>12}".format(*header))
            for ordering in ORDERINGS:
                order = parse_ordering(ordering, ORDERING_FIELDS, Package.id)
                async with app.state.sessionmaker() as session:
                    row = await session.scalar(
                        select(Package).order_by(*order.clauses).offset(depth).limit(1)
                    )
                cursor = codec.encode(Cursor("packages", order.label, True, row_key(order, row)))
                base = {"ordering": ordering, "limit": str(limit)}
                first = await timed(base)
                cursor_first = await timed({**base, "cursor": ""})
                offset_deep = await timed({**base, "offset": str(depth)})
                cursor_deep = await timed({**base, "cursor": cursor})
                figures = (first, cursor_first, offset_deep, cursor_deep)
                print("{:<15} {:>8.2f} {:>9.2f} {:>12.2f} {:>12.2f}".format(ordering, *figures))
                for label, params in (
                    ("cursor", {**base, "cursor": cursor}),
                    ("offset", {**base, "offset": str(depth)}),
                ):
                    captured = await statements_of(
                        app, client.get("/api/v4/packages/", params=params)
                    )
                    page_sql = [
                        c
                        for c in captured
                        if "FROM packages" in c[0] and "LIMIT" in c[0] and "count(" not in c[0]
                    ]
                    plans[f"{ordering} {label}"] = await _explain(url, *page_sql[0])
        for ordering in ("-repo_watchers", "last_updated"):
            for label in ("cursor", "offset"):
                print(f"\nEXPLAIN ANALYZE, deep {label} page, ordering={ordering}:")
                print(plans[f"{ordering} {label}"])
        await _counts(url, repeat)
        print("\nload average while measuring: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


async def _explain(url: str, statement: str, parameters: Any) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
        return "\n".join(f"  {row[0]}" for row in rows)
    finally:
        await connection.close()


async def _counts(url: str, repeat: int) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for label, sql in (
            ("COUNT(*) FROM packages", "SELECT count(*) FROM packages"),
            (
                "table_counts (kept by triggers)",
                "SELECT row_count + table_counts_pending(table_name) FROM table_counts"
                " WHERE table_name = 'packages'",
            ),
        ):
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                value = await connection.fetchval(sql)
                times.append((time.perf_counter() - began) * 1000)
            print(f"\n{label}: {value:,} rows, p50 {_p50(times):.2f} ms")
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--limit", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.packages, arguments.repeat, arguments.limit))


if __name__ == "__main__":
    main()
