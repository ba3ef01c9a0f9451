"""Search latency: 1,000 mixed queries over 100,000 packages on PostgreSQL.

    uv run python bench/search.py [--packages 100000] [--queries 1000]

Creates a throwaway database on BENCH_DATABASE_URL's server (default: the local one),
migrates it, loads packages, categories, grids and memberships with COPY (the search
triggers index them as an importer's bulk load would), then times GET /api/v4/search/
through the real app in-process (routing, validation, the SQL, serialization), then the
same queries through SearchRepository alone (the SQL and its mapping), one query at a
time. Prints p50, p99 and mean per kind of query and overall, and the machine's load
average (figures from a shared machine are only as quiet as it is); drops the database.
Target: p50 under 15 ms, p99 under 60 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
from pg_admin import admin, asyncpg_dsn
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from app.migrate import upgrade
from app.pagination import PageRequest
from app.repositories.search import SearchRepository

SERVER_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REAL_WORDS = (  # noqa: SIM905
    "rest framework filter auth admin api cms blog shop cache celery forms storage search "
    "graphql oauth social registration comments tags debug toolbar import export haystack "
    "channels websocket payments stripe paypal markdown editor images thumbnails sitemap seo "
    "tenants permissions guardian history audit simple reversion crispy bootstrap tables "
    "select autocomplete celery beat tasks queue redis postgres mongo elasticsearch geo maps"
).split()


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    # Consonant-vowel syllables: names as varied in their letters as real package names.
    syllables = [c + v for c in "bcdfghjklmnprstvwxyz" for v in "aeiou"]
    words = set(REAL_WORDS)
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


async def load(url: str, packages: int, rng: random.Random, words: list[str]) -> list[str]:
    """Categories, packages, grids and memberships by COPY; the titles, for exact queries."""
    now = dt.datetime.now(dt.UTC)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
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
                (i, f"Category {w}", f"category-{w}", "", "", True, now, now)
                for i, w in enumerate(REAL_WORDS[:20], 1)
            ],
        )
        titles: list[str] = []
        seen: set[str] = set()
        rows = []
        for i in range(1, packages + 1):
            parts = rng.sample(words, rng.randint(1, 3))
            slug = "-".join((["django"] if rng.random() < 0.8 else []) + parts)
            if slug in seen:
                slug = f"{slug}-{i}"
            seen.add(slug)
            title = (
                slug if rng.random() < 0.7 else " ".join(p.capitalize() for p in slug.split("-"))
            )
            titles.append(title)
            description = " ".join(rng.choice(words) for _ in range(rng.randint(0, 14)))
            stars = int(rng.paretovariate(1.2)) - 1
            committed = (
                now - dt.timedelta(days=rng.randint(0, 2000)) if rng.random() < 0.9 else None
            )
            people = json.dumps(
                [rng.choice(words) + str(rng.randint(1, 99)) for _ in range(rng.randint(0, 4))]
            )
            rows.append(
                (
                    i,
                    title,
                    slug,
                    rng.randint(1, 20),
                    "",
                    description,
                    stars,
                    stars // 5,
                    people,
                    "[]",
                    committed,
                    "",
                    "",
                    "[]",
                    0,
                    "",
                    0,
                    now,
                    now,
                )
            )
        columns = [
            "id",
            "title",
            "slug",
            "category_id",
            "repo_host",
            "repo_description",
            "repo_watchers",
            "repo_forks",
            "participants",
            "commits_over_52",
            "last_updated",
            "pypi_url",
            "documentation_url",
            "pypi_classifiers",
            "score",
            "refresh_error",
            "refresh_failures",
            "created",
            "modified",
        ]
        # JSONB columns take text through COPY's text codec.
        for start in range(0, len(rows), 10_000):
            await connection.copy_records_to_table(
                "packages", columns=columns, records=rows[start : start + 10_000]
            )
        grids = [
            (
                g,
                f"{w.capitalize()} {g}",
                f"{w}-{g}",
                f"Compare {w} packages",
                g % 3 == 0,
                g % 5 == 0,
                now,
                now,
            )
            for g, w in ((g, rng.choice(REAL_WORDS)) for g in range(1, 501))
        ]
        await connection.copy_records_to_table(
            "grids",
            columns=[
                "id",
                "title",
                "slug",
                "description",
                "is_locked",
                "header",
                "created",
                "modified",
            ],
            records=grids,
        )
        members = {
            (g, rng.randint(1, packages)) for g in range(1, 501) for _ in range(rng.randint(0, 12))
        }
        await connection.copy_records_to_table(
            "grid_packages",
            columns=["grid_id", "package_id", "created"],
            records=[(g, p, now) for g, p in members],
        )
        await connection.execute("ANALYZE")
        return titles
    finally:
        await connection.close()


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word + rng.choice("aeiou")
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]  # dropped
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swapped
    return word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[i + 1 :]  # replaced


def queries(
    rng: random.Random, titles: list[str], words: list[str], count: int
) -> list[tuple[str, str]]:
    kinds = [
        ("exact", 0.25, lambda: rng.choice(titles)),
        ("multi-word", 0.25, lambda: " ".join(rng.sample(words, 2))),
        ("prefix", 0.15, lambda: (w := rng.choice(words))[: max(2, len(w) - rng.randint(1, 3))]),
        ("typo", 0.15, lambda: _typo(rng, rng.choice(titles).replace(" ", "-"))),
        ("miss", 0.10, lambda: "".join(rng.choice("qxzjwv") for _ in range(rng.randint(5, 10)))),
        (
            "popular",
            0.10,
            lambda: rng.choice(["django", "rest framework", "djang", "django api", "auth"]),
        ),
    ]
    out = []
    for _ in range(count):
        pick = rng.random()
        for name, share, make in kinds:
            pick -= share
            if pick <= 0:
                out.append((name, make()))
                break
        else:
            out.append(("popular", "django"))
    return out


Timings = tuple[dict[str, list[float]], dict[str, list[int]], list[tuple[float, str, str]]]


async def timed(mix: list[tuple[str, str]], one: Callable[[str], Awaitable[int]]) -> Timings:
    """Milliseconds and result counts per kind of query, one query at a time."""
    timings: dict[str, list[float]] = defaultdict(list)
    rows: dict[str, list[int]] = defaultdict(list)
    slow: list[tuple[float, str, str]] = []
    for kind, q in mix:
        began = time.perf_counter()
        found = await one(q)
        elapsed = (time.perf_counter() - began) * 1000
        timings[kind].append(elapsed)
        rows[kind].append(found)
        slow.append((elapsed, kind, q))
    return timings, rows, slow


def report(title: str, measured: Timings) -> None:
    timings, rows, slow = measured
    everything = [t for values in timings.values() for t in values]
    all_rows = [r for values in rows.values() for r in values]
    print(f"\n{title}")
    print(f"{'kind':<11} {'queries':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'rows':>6}")
    for kind, values, counts in [
        *((kind, timings[kind], rows[kind]) for kind in sorted(timings)),
        ("all", everything, all_rows),
    ]:
        p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
        print(
            f"{kind:<11} {len(values):>7} {p50:>8.2f} {p99:>8.2f}"
            f" {statistics.mean(values):>8.2f} {statistics.mean(counts):>6.1f}"
        )
    print("slowest:", ", ".join(f"{q!r} ({kind}) {t:.1f} ms" for t, kind, q in sorted(slow)[-5:]))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run(packages: int, count: int) -> None:
    rng = random.Random(20261122)  # noqa: S311 (reproducible data, not secrets)
    name = f"packages_api_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    await admin(SERVER_URL, f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade, Settings(database_url=url))
        words = _vocabulary(rng, 3000)
        started = time.perf_counter()
        titles = await load(url, packages, rng, words)
        took = time.perf_counter() - started
        print(f"loaded {packages:,} packages and 500 grids (triggers indexing) in {took:.1f} s")
        await measure(url, queries(rng, titles, words, count))
    finally:
        await admin(SERVER_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run_existing(database: str, count: int) -> None:
    """Only reads: the titles and words come from the database (bench/dataset.py's kept
    ones), so the mix is the same kinds of query as `run` makes."""
    rng = random.Random(20261122)  # noqa: S311 (reproducible queries, not secrets)
    url = make_url(SERVER_URL).set(database=database).render_as_string(hide_password=False)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        # A fixed sample (by id, not random()) so before/after runs send the same queries.
        rows = await connection.fetch(
            "SELECT title FROM packages WHERE id % 997 = 1 ORDER BY id LIMIT 2000"
        )
        words = sorted(
            set(REAL_WORDS)
            | {w for r in rows for w in re.findall(r"[a-z]+", r["title"].lower()) if w != "django"}
        )
    finally:
        await connection.close()
    titles = [row["title"] for row in rows]
    # Plus bench/api.py's wrk search paths: common words, "django <word>", 4-letter prefixes.
    common = list(REAL_WORDS)
    api = common + [f"django {w}" for w in common[:30]] + [w[:4] for w in common[:30]]
    mix = queries(rng, titles, words, count) + [
        ("api-wrk", rng.choice(api)) for _ in range(count // 3)
    ]
    await measure(url, mix)


async def measure(url: str, mix: list[tuple[str, str]]) -> None:
    # No refresher: it would write metrics into the measured (possibly kept) database. No
    # read cache: the mix repeats queries, which would then be timed as cache hits.
    settings = Settings(database_url=url, refresh_enabled=False, cache_enabled=False)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client,
    ):
        for _, q in mix[:50]:  # warm the pool and the caches
            (await client.get("/api/v4/search/", params={"q": q})).raise_for_status()

        async def over_http(q: str) -> int:
            response = await client.get("/api/v4/search/", params={"q": q})
            response.raise_for_status()
            return len(response.json())

        report("GET /api/v4/search/?q= (in-process ASGI)", await timed(mix, over_http))
        maker = app.state.sessionmaker

        async def in_sql(q: str) -> int:
            async with maker() as session:
                _, hits = await SearchRepository(session).search(q, PageRequest(20, 0))
                return len(hits)

        report("SearchRepository.search (the SQL)", await timed(mix, in_sql))
    print("load average while measuring: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--database",
        help="measure this existing database (e.g. packages_api_bench_1000000) read-only,"
        " instead of loading a throwaway one",
    )
    arguments = parser.parse_args()
    if arguments.database:
        asyncio.run(run_existing(arguments.database, arguments.queries))
    else:
        asyncio.run(run(arguments.packages, arguments.queries))


if __name__ == "__main__":
    main()
