"""A directory of N packages shaped like djangopackages.org's, loaded with COPY.

    uv run python bench/dataset.py --packages 100000 --database-url postgresql://...

Shapes: 40 categories; stars power-law (Pareto, most packages have a handful, a few tens
of thousands); 1-40 participants (most few); a 52-week commit history (dormant, steady or
bursty); PyPI metadata and classifiers on most packages; repositories spread over GitHub
(most), GitLab, Bitbucket, Codeberg or none; grids of 8-22 packages (about 15), one grid
per 60 packages, popular packages more often in grids.

Each package's stored facts (the filters' columns and package_versions rows) are derived
by app.insights.stored, the rule every writer applies. Rows go in with PostgreSQL's COPY
(asyncpg's copy_records_to_table), the fast path the issue allows for a benchmark: the
search triggers are statement-level with transition tables, which COPY fires once per
batch, so search documents (and any trigger-kept counts) come out as they would from the
importer. The same seed gives the same directory.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import asyncpg

from app.insights.stored import stored_facts

# Words real package names are made of, then syllable words for the long tail.
WORDS = (  # noqa: SIM905
    "rest framework filter auth admin api cms blog shop cache celery forms storage search "
    "graphql oauth social registration comments tags debug toolbar import export haystack "
    "channels websocket payments stripe paypal markdown editor images thumbnails sitemap seo "
    "tenants permissions guardian history audit simple reversion crispy bootstrap tables "
    "select autocomplete beat tasks queue redis postgres mongo elasticsearch geo maps "
    "extensions utils model fields money phone countries taggit polymorphic mptt treebeard "
    "allauth otp jwt cors health check silk compressor pipeline webpack htmx unicorn ninja"
).split()
CATEGORIES = 40
HOSTS = (  # (repo_host, share, url prefix)
    ("github", 0.86, "https://github.com"),
    ("gitlab", 0.06, "https://gitlab.com"),
    ("bitbucket", 0.03, "https://bitbucket.org"),
    ("forgejo", 0.02, "https://codeberg.org"),
    ("", 0.03, ""),
)
CLASSIFIERS = [
    "Development Status :: 5 - Production/Stable",
    "Development Status :: 4 - Beta",
    "Environment :: Web Environment",
    "Framework :: Django",
    "Framework :: Django :: 4.2",
    "Framework :: Django :: 5.0",
    "Framework :: Django :: 5.1",
    "Intended Audience :: Developers",
    "License :: OSI Approved :: MIT License",
    "License :: OSI Approved :: BSD License",
    "Operating System :: OS Independent",
    "Programming Language :: Python",
    "Programming Language :: Python :: 3",
    "Programming Language :: Python :: 3.10",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.13",
    "Framework :: Django :: 5.2",
    "Topic :: Internet :: WWW/HTTP :: Dynamic Content",
    "Topic :: Software Development :: Libraries :: Python Modules",
]
LICENSES = ["MIT", "BSD-3-Clause", "BSD License", "Apache-2.0", "GPL-3.0", "LGPL", None]
PACKAGE_COLUMNS = [
    "id",
    "title",
    "slug",
    "category_id",
    "repo_url",
    "repo_host",
    "repo_description",
    "repo_watchers",
    "repo_forks",
    "participants",
    "commits_over_52",
    "last_updated",
    "last_fetched",
    "pypi_url",
    "pypi_version",
    "documentation_url",
    "pypi_license",
    "pypi_requires_python",
    "pypi_classifiers",
    "supports_python3",
    "score",
    "date_deprecated",
    "date_repo_archived",
    "deprecated_by_id",
    "refresh_error",
    "refresh_failures",
    "created",
    "modified",
    # What the filters read (issue 18), derived by app.insights.stored as every writer does.
    "pypi_last_release",
    "commits_last_year",
    "last_activity",
    "standing",
]
BATCH = 20_000


def vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwxyz" for v in "aeiou"]
    words = set(WORDS)
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _activity(rng: random.Random) -> str:
    """52 weekly commit totals, oldest first, as JSON text (COPY takes JSONB as text)."""
    kind = rng.random()
    if kind < 0.45:  # dormant
        weeks = [0] * 52
    elif kind < 0.85:  # steady trickle
        weeks = [rng.choice((0, 0, 0, 1, 1, 2, 3)) for _ in range(52)]
    else:  # bursty, busy
        weeks = [int(rng.paretovariate(1.5)) * rng.choice((0, 1, 3)) for _ in range(52)]
    return json.dumps(weeks)


def _participants(rng: random.Random, words: list[str]) -> str:
    count = min(40, max(1, int(rng.paretovariate(1.1))))
    return json.dumps([f"{rng.choice(words)}{rng.randint(1, 9999)}" for _ in range(count)])


def _host(rng: random.Random) -> tuple[str, str]:
    pick = rng.random()
    for host, share, prefix in HOSTS:
        pick -= share
        if pick <= 0:
            return host, prefix
    return HOSTS[0][0], HOSTS[0][2]


@functools.cache
def _parsed(text: str) -> tuple[Any, ...]:
    """A pooled JSON value, parsed once."""
    return tuple(json.loads(text))


def package_rows(
    rng: random.Random, words: list[str], count: int, now: dt.datetime
) -> Iterator[tuple[Any, ...]]:
    # Pools of JSON values: drawing 52 numbers per package would make generation the
    # slowest part of a million-package load, for no realism gained.
    activities = [_activity(rng) for _ in range(4000)]
    people = [_participants(rng, words) for _ in range(8000)]
    classifier_sets = [
        json.dumps(sorted(rng.sample(CLASSIFIERS, rng.randint(0, 12)))) for _ in range(500)
    ]
    seen: set[str] = set()
    for i in range(1, count + 1):
        parts = rng.sample(words, rng.randint(1, 3))
        slug = "-".join((["django"] if rng.random() < 0.75 else []) + parts)
        if slug in seen:
            slug = f"{slug}-{i}"
        seen.add(slug)
        title = slug if rng.random() < 0.6 else " ".join(p.capitalize() for p in slug.split("-"))
        stars = min(90_000, int(rng.paretovariate(0.9)) - 1)
        host, prefix = _host(rng)
        owner = rng.choice(words) + str(rng.randint(1, 999))
        repo_url = f"{prefix}/{owner}/{slug}" if host else None
        on_pypi = rng.random() < 0.8
        committed = now - dt.timedelta(minutes=rng.randint(0, 3_000_000))
        created = committed - dt.timedelta(days=rng.randint(0, 3000))
        deprecated = i > 100 and rng.random() < 0.002
        archived = committed if rng.random() < 0.03 else None
        released = committed - dt.timedelta(days=rng.randint(0, 400)) if on_pypi else None
        activity = rng.choice(activities)
        classified = rng.choice(classifier_sets) if on_pypi else "[]"
        facts = stored_facts(
            classifiers=_parsed(classified),
            requires_python=">=3.9" if on_pypi else None,
            commits_over_52=_parsed(activity),
            last_commit=committed if host else None,
            last_release=released,
            pypi_status=None,
            date_deprecated=now if deprecated else None,
            deprecated_by_id=1 if deprecated else None,
            repo_archived_at=archived,
        )
        yield (
            i,
            title[:100],
            slug[:100],
            rng.randint(1, CATEGORIES),
            repo_url,
            host,
            " ".join(rng.choice(words) for _ in range(rng.randint(3, 20))).capitalize(),
            stars,
            stars // rng.randint(4, 10),
            rng.choice(people),
            activity,
            committed if host else None,
            now - dt.timedelta(minutes=rng.randint(0, 2000)) if host else None,
            f"https://pypi.org/project/{slug}/" if on_pypi else "",
            f"{rng.randint(0, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}" if on_pypi else None,
            f"https://{slug}.readthedocs.io/" if rng.random() < 0.5 else "",
            rng.choice(LICENSES) if on_pypi else None,
            ">=3.9" if on_pypi else None,
            classified,
            True if on_pypi else None,
            stars + (500 if on_pypi else 0),
            now if deprecated else None,
            archived,
            rng.randint(1, i - 1) if deprecated else None,
            "",
            0,
            created,
            committed,
            released,
            facts.commits_last_year,
            facts.last_activity,
            facts.standing,
            facts.versions,  # not a column: package_rows' caller COPYs them to package_versions
        )


async def load(dsn: str, packages: int, *, seed: int = 20261122, echo: bool = True) -> float:
    """Categories, packages, grids and memberships into a migrated, empty database."""
    rng = random.Random(seed)  # noqa: S311 (reproducible data, not secrets)
    words = vocabulary(rng, 4000)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "categories",
            columns=[
                *("id", "title", "slug", "description", "title_plural", "show_pypi"),
                "created",
                "modified",
            ],
            records=[
                (c, w.capitalize(), w, f"Packages for {w}", f"{w.capitalize()}s", True, now, now)
                for c, w in enumerate(WORDS[:CATEGORIES], 1)
            ],
        )
        batch: list[tuple[Any, ...]] = []
        stars: list[int] = []
        for row in package_rows(rng, words, packages, now):
            batch.append(row)
            stars.append(row[7])
            if len(batch) == BATCH:
                await _copy_packages(connection, batch)
                batch = []
                if echo and row[0] % 100_000 == 0:
                    took = time.perf_counter() - started
                    print(f"  {row[0]:,} packages in {took:.0f} s", flush=True)
        if batch:
            await _copy_packages(connection, batch)
        grids = max(1, packages // 60)
        await connection.copy_records_to_table(
            "grids",
            columns=[
                *("id", "title", "slug", "description", "is_locked", "header"),
                "created",
                "modified",
            ],
            records=[
                (
                    g,
                    f"{w.capitalize()} {g}",
                    f"{w}-{g}",
                    f"Compare the {w} packages",
                    g % 7 == 0,
                    g % 5 == 0,
                    now,
                    now,
                )
                for g, w in ((g, rng.choice(WORDS)) for g in range(1, grids + 1))
            ],
        )
        # Popular packages sit in more grids: pick members weighted towards many stars.
        popular = sorted(range(1, packages + 1), key=lambda p: -stars[p - 1])[: packages // 10]
        members: list[tuple[int, int, dt.datetime]] = []
        for g in range(1, grids + 1):
            chosen: set[int] = set()
            for _ in range(rng.randint(8, 22)):
                pool = popular if rng.random() < 0.5 and popular else None
                chosen.add(rng.choice(pool) if pool else rng.randint(1, packages))
            members += [(g, p, now) for p in sorted(chosen)]
        for start in range(0, len(members), BATCH):
            await connection.copy_records_to_table(
                "grid_packages",
                columns=["grid_id", "package_id", "created"],
                records=members[start : start + BATCH],
            )
        # Explicit ids went in: move each sequence past them, as the importer does.
        for table in ("categories", "packages", "grids", "grid_packages"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def _copy_packages(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    await connection.copy_records_to_table(
        "packages", columns=PACKAGE_COLUMNS, records=[row[:-1] for row in rows]
    )
    versions = [(row[0], kind, version) for row in rows for kind, version in row[-1]]
    await connection.copy_records_to_table(
        "package_versions", columns=["package_id", "kind", "version"], records=versions
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--database-url", required=True, help="A migrated, empty database.")
    arguments = parser.parse_args()
    dsn = arguments.database_url.replace("postgresql+asyncpg://", "postgresql://")
    took = asyncio.run(load(dsn, arguments.packages))
    print(f"loaded {arguments.packages:,} packages in {took:.1f} s")


if __name__ == "__main__":
    main()
