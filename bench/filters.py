"""Issue 18's filters and orderings against the unfiltered list, on PostgreSQL.

    uv run python bench/filters.py [--packages 1000000] [--repeat 20] [--limit 20]

Creates a throwaway database on BENCH_DATABASE_URL's server (default: the local one),
migrates it, loads bench/dataset.py's directory (its stored facts derived by the rule
every writer applies), then times GET /api/v4/packages/ through the real app in-process:
page 1 unfiltered, then page 1 with each filter and ordering, by offset and by cursor
(`cursor=` skips nothing but still counts). Prints the median of each, how many packages
the filter keeps, and EXPLAIN ANALYZE of the page's SELECT for a few; then the load
average (the machine is shared). Drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from dataset import load
from in_process import served, statements_of, throwaway_database
from pg_admin import asyncpg_dsn

SERVER_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
QUERIES = [
    "",
    "django=5.1",
    "django=5.2",
    "python=3.12",
    "python=3.13",
    "status=active",
    "status=stale",
    "status=inactive",
    "status=deprecated",
    "status=archived,deprecated",
    "status=active,stale",
    "status=stale,deprecated",
    "django=5.2&status=active",
    "category=7&django=5.2",
    "ordering=-last_release",
    "ordering=last_release",
    "ordering=-commits_last_year",
    "category=7&ordering=-commits_last_year",
    "python=3.13&ordering=-commits_last_year",
]
EXPLAINED = ("django=5.2", "status=active", "status=archived,deprecated")


async def run(packages: int, repeat: int, limit: int) -> None:
    async with throwaway_database(SERVER_URL) as url:
        took = await load(asyncpg_dsn(url), packages, echo=False)
        print(f"loaded {packages:,} packages in {took:.1f} s")
        async with served(url) as (app, client):

            async def timed(query: str) -> tuple[float, int]:
                times = []
                count = 0
                for _ in range(repeat):
                    began = time.perf_counter()
                    response = await client.get(f"/api/v4/packages/?limit={limit}&{query}")
                    times.append((time.perf_counter() - began) * 1000)
                    response.raise_for_status()
                    count = response.json()["count"]
                return statistics.median(times), count

            print(f"\npage 1 of {limit}, median of {repeat} (ms)")
            print("{:<42} {:>9} {:>9} {:>10}".format("query", "offset", "cursor", "count"))
            for query in QUERIES:
                offset_ms, count = await timed(query)
                cursor_ms, _ = await timed(f"{query}&cursor=")
                shown = query or "(unfiltered)"
                print(f"{shown:<42} {offset_ms:>9.2f} {cursor_ms:>9.2f} {count:>10,}")

            for query in EXPLAINED:
                captured = await statements_of(
                    app, client.get(f"/api/v4/packages/?limit={limit}&{query}")
                )
                statement, parameters = next(
                    (s, p) for s, p in captured if "LIMIT" in s and "FROM packages" in s
                )
                async with app.state.engine.connect() as connection:
                    result = await connection.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                    )
                    print(f"\nEXPLAIN ANALYZE, page 1, {query}:")
                    print("\n".join(row[0] for row in result))
        print("\nload average:", os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--limit", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.packages, arguments.repeat, arguments.limit))


if __name__ == "__main__":
    main()
