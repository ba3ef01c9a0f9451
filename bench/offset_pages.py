"""What a deep offset page costs in PostgreSQL: one statement that computes every
skipped row's grid ids (before) against the ids-first pair the service sends now (an
index-only walk of the ids, then the page's rows and grid ids by primary key).

    uv run python bench/offset_pages.py [--dsn postgresql://postgres@127.0.0.1/packages_api_bench_10000]
        [--offsets 0,4000,9000] [--repeat 200]

Run it on a database bench/api.py kept (`--keep`). Prints, per offset, the median and p99
wall time of each form as seen by the client (asyncpg, prepared statements, one
connection), side by side, and checks both return the same rows in the same order.
"""

# The SQL is assembled from this module's constants only.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

COLUMNS = (
    "id, title, slug, category_id, repo_url, repo_host, repo_description, repo_watchers,"
    " repo_forks, participants, commits_over_52, last_updated, last_fetched, pypi_url,"
    " pypi_version, documentation_url, pypi_license, pypi_requires_python,"
    " pypi_classifiers, supports_python3, score, date_deprecated, date_repo_archived,"
    " deprecated_by_id, created, modified"
)
GRID_IDS = (
    "(SELECT string_agg(CAST(grid_packages.grid_id AS VARCHAR), ',') FROM grid_packages"
    " WHERE grid_packages.package_id = packages.id) AS grid_ids"
)
ONE_STATEMENT = (
    f"SELECT {COLUMNS}, {GRID_IDS} FROM packages ORDER BY packages.id DESC LIMIT $1 OFFSET $2"
)
IDS = "SELECT packages.id FROM packages ORDER BY packages.id DESC LIMIT $1 OFFSET $2"
ROWS = f"SELECT {COLUMNS}, {GRID_IDS} FROM packages WHERE packages.id = ANY($1::int[])"


async def one_statement(connection: asyncpg.Connection, offset: int) -> list[int]:
    rows = await connection.fetch(ONE_STATEMENT, 20, offset)
    return [row["id"] for row in rows]


async def ids_first(connection: asyncpg.Connection, offset: int) -> list[int]:
    ids = [row["id"] for row in await connection.fetch(IDS, 20, offset)]
    rows = await connection.fetch(ROWS, ids)
    position = {row_id: index for index, row_id in enumerate(ids)}
    return [row["id"] for row in sorted(rows, key=lambda row: position[row["id"]])]


async def timed(function, connection, offset, repeat):  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await function(connection, offset)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1/packages_api_bench_10000")
    parser.add_argument("--offsets", default="0,4000,9000")
    parser.add_argument("--repeat", type=int, default=200)
    arguments = parser.parse_args()
    connection = await asyncpg.connect(arguments.dsn)
    count = await connection.fetchval("SELECT count(*) FROM packages")
    print(f"{count:,} packages; {arguments.repeat} runs each, ms per page (median / p99)")
    print("| offset | one statement | ids first | ratio (median) |")
    print("| --- | --- | --- | --- |")
    for offset in (int(part) for part in arguments.offsets.split(",")):
        assert await one_statement(connection, offset) == await ids_first(connection, offset)
        await timed(one_statement, connection, offset, 10)  # warm up
        await timed(ids_first, connection, offset, 10)
        before = await timed(one_statement, connection, offset, arguments.repeat)
        after = await timed(ids_first, connection, offset, arguments.repeat)
        print(
            f"| {offset:,} | {before[0]:.2f} / {before[1]:.2f} | {after[0]:.2f} / {after[1]:.2f}"
            f" | {before[0] / after[0]:.1f}x |"
        )
    await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
