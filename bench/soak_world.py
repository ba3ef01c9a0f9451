"""The soak test's world: the directory it seeds and the fake upstreams the refresher reads.

Seeded through the importer's fast path (`load_records`): categories, packages (each a
GitHub repository and a PyPI project the fakes know), grids with members, features and
cells, so every read route has something to answer. The fakes run in a process of their
own (as in bench/refresh.py) and keep changing: stars move and PyPI projects release, so
the refresher's runs write, not only confirm. Repositories under `soak/` (the ones the
load generator's new packages point at) exist on first sight.
"""

from __future__ import annotations

import asyncio
import random
from multiprocessing.connection import Connection
from typing import Any

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.transfer import load_records
from app.transfer.records import Kind
from tests.fakes import FakeGitHub, FakeRepo, Recorder, serve_on_loopback
from tests.fakes.pypi import FakePyPI, PypiProject
from tests.fakes.schema import github_schema

CATEGORIES = 10
GRIDS = 20
GRID_MEMBERS = 25
GRID_FEATURES = 8
STAMP = "2024-01-02T03:04:05.123456Z"
WORDS = ["admin", "auth", "rest", "cache", "forms", "search", "shop", "blog", "api", "tasks"]
# Seconds between two changes of the fake world, and how many repositories each touches.
CHURN_EVERY = 1.0
CHURN_REPOS = 25


def owner_of(number: int) -> str:
    return f"owner{number % 97}"


def records(packages: int) -> dict[Kind, list[dict[str, Any]]]:
    """The seeded directory in the export shape (docs/export-format.md), ids from 1."""
    categories = [
        {
            "id": c,
            "title": f"Category {c}",
            "slug": f"category-{c}",
            "title_plural": f"Categories {c}",
            "created": STAMP,
            "modified": STAMP,
        }
        for c in range(1, CATEGORIES + 1)
    ]
    rows = [
        {
            "id": n,
            "title": f"Package {n} {WORDS[n % len(WORDS)]}",
            "slug": f"package-{n}",
            "category": n % CATEGORIES + 1,
            "repo_url": f"https://github.com/{owner_of(n)}/repo{n}",
            "pypi_url": f"https://pypi.org/project/package-{n}/",
            "repo_description": f"A {WORDS[n % 7]} toolkit for {WORDS[n % 10]} number {n}",
            "created": STAMP,
            "modified": STAMP,
        }
        for n in range(1, packages + 1)
    ]
    grids = [
        {
            "id": g,
            "title": f"Grid {g} {WORDS[g % len(WORDS)]}",
            "slug": f"grid-{g}",
            "description": f"Comparing {WORDS[g % len(WORDS)]} packages",
            "created": STAMP,
            "modified": STAMP,
        }
        for g in range(1, GRIDS + 1)
    ]
    members = [
        (g, (g - 1) * GRID_MEMBERS + k)
        for g in range(1, GRIDS + 1)
        for k in range(1, GRID_MEMBERS + 1)
    ]
    memberships = [{"grid": g, "package": p} for g, p in members if p <= packages]
    features = [
        {
            "id": (g - 1) * GRID_FEATURES + f,
            "grid": g,
            "title": f"Feature {f}",
            "created": STAMP,
            "modified": STAMP,
        }
        for g in range(1, GRIDS + 1)
        for f in range(1, GRID_FEATURES + 1)
    ]
    elements = [
        {"feature": (m["grid"] - 1) * GRID_FEATURES + f, "package": m["package"], "text": "Yes"}
        for m in memberships
        for f in range(1, GRID_FEATURES + 1)
    ]
    return {
        "categories": categories,
        "grids": grids,
        "packages": rows,
        "memberships": memberships,
        "features": features,
        "elements": elements,
    }


async def seed(settings: Settings, packages: int) -> None:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            summary = await load_records(
                session, records(packages), forge_hosts=settings.forge_hosts
            )
        refused = sum(counts.refused for counts in summary.counts.values())
        if refused:
            raise RuntimeError(f"seeding refused {refused} records")
    finally:
        await engine.dispose()


class _ReposOnFirstSight(dict[str, FakeRepo]):
    """FakeGitHub's repositories, plus any `soak/NAME` asked for: the load generator's new
    packages are real repositories, so refreshing them succeeds like any other."""

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or (isinstance(key, str) and key.startswith("soak/"))

    def __missing__(self, key: str) -> FakeRepo:
        owner, _, name = key.partition("/")
        repo = FakeRepo(owner=owner, name=name, stars=7, contributors=["soaker"])
        repo.id = len(self) + 1
        self[key] = repo
        return repo


def world(packages: int) -> tuple[FakeGitHub, FakePyPI]:
    github, pypi = FakeGitHub(), FakePyPI()
    github.repos = _ReposOnFirstSight()
    # Ten minutes of refreshing thousands of repositories, again and again, is more than a
    # real hour's budget: the soak is about the service, not about waiting for a reset.
    github.rest_limit = github.rest_remaining = 10**12
    github.graphql_remaining = 10**12
    for n in range(1, packages + 1):
        github.add(
            FakeRepo(
                owner=owner_of(n),
                name=f"repo{n}",
                stars=n % 5000,
                forks=n % 300,
                description=f"Package {n}",
                contributors=[f"dev{n}-{k}" for k in range(n % 12 + 1)],
                weeks=[(n + week) % 9 for week in range(52)],
            )
        )
        pypi.add(
            PypiProject(
                name=f"package-{n}",
                releases={"1.0": [False], "1.1": [False]},
                license_expression="MIT",
                requires_python=">=3.10",
                classifiers=["Programming Language :: Python :: 3"],
            )
        )
    return github, pypi


async def churn(github: FakeGitHub, pypi: FakePyPI, packages: int) -> None:
    """Keep upstream changing, and forget what the fakes record (they are not measured)."""
    chance = random.Random(8)  # noqa: S311 (reproducible churn, not secrets)
    release = 2
    while True:
        await asyncio.sleep(CHURN_EVERY)
        for n in chance.sample(range(1, packages + 1), min(CHURN_REPOS, packages)):
            github.repos[f"{owner_of(n)}/repo{n}"].stars += 1
        project = pypi.projects[f"package-{chance.randint(1, packages)}"]
        project.releases[f"1.{release}"] = [False]
        project.serial += 1
        release += 1
        github.graphql_queries.clear()


def serve_fakes(packages: int, latency: float, pipe: Connection) -> None:
    """Entry point of the fakes' process: sends (github_base, pypi_base), serves until told."""
    asyncio.run(_serve_fakes(packages, latency, pipe))


async def _serve_fakes(packages: int, latency: float, pipe: Connection) -> None:
    github_schema()  # parsed once, before the clock starts
    github, pypi = world(packages)
    # Recorder adds the latency; what it records is dropped every few seconds.
    github_app, pypi_app = Recorder(github.app, latency), Recorder(pypi.app, latency)
    churning = asyncio.create_task(churn(github, pypi, packages))

    async def forget() -> None:
        while True:
            await asyncio.sleep(5)
            github_app.seen.clear()
            pypi_app.seen.clear()

    forgetting = asyncio.create_task(forget())
    async with (
        serve_on_loopback(github_app) as github_base,
        serve_on_loopback(pypi_app) as pypi_base,
    ):
        pipe.send((github_base, pypi_base))
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # until told to stop
    churning.cancel()
    forgetting.cancel()
