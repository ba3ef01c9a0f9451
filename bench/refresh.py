"""Benchmark: a cold and a warm refresh of N packages against the fake GitHub and PyPI.

    uv run python bench/refresh.py                      # 2,000 packages, SQLite, 50 ms
    uv run python bench/refresh.py --database postgresql --packages 500

Every package has a GitHub repository and a PyPI project (djangopackages' usual package),
so "GitHub points per package" is per GitHub repository. The fakes (tests/fakes) run on
loopback with `--latency` seconds added to every request, the real forge clients and the
real refresher (`Refresher.run`, as `packages-api refresh --all` runs it) do the work. The
cold run starts from nothing stored; the warm run right after has every ETag, so REST and
PyPI answer 304 and only GitHub's GraphQL query (no ETags there) costs points.

Targets (2-core machine): cold <= 2.5 points/package and 2,000 packages < 60 s;
warm <= 0.05 points/package and < 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from sqlalchemy import insert, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import Settings
from app.db import create_engine, create_sessionmaker, utcnow
from app.forges.registry import open_forges
from app.migrate import upgrade
from app.models import Category, Package
from app.refresh.refresher import Refresher, RunSummary
from app.refresh.repository import Selection
from tests.fakes import FakeGitHub, FakeRepo, Recorder, serve_on_loopback
from tests.fakes.pypi import FakePyPI, PypiProject
from tests.fakes.schema import github_schema

POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def world(count: int) -> tuple[FakeGitHub, FakePyPI]:
    github, pypi = FakeGitHub(), FakePyPI()
    for number in range(count):
        github.add(
            FakeRepo(
                owner=f"owner{number % 97}",
                name=f"repo{number}",
                stars=number % 5000,
                forks=number % 300,
                description=f"Package {number}",
                contributors=[f"dev{number}-{k}" for k in range(number % 12 + 1)],
                weeks=[(number + week) % 9 for week in range(52)],
            )
        )
        pypi.add(
            PypiProject(
                name=f"package-{number}",
                releases={"1.0": [False], "1.1": [False]},
                license_expression="MIT",
                requires_python=">=3.10",
                classifiers=["Programming Language :: Python :: 3"],
            )
        )
    return github, pypi


async def seed(settings: Settings, count: int) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            now = utcnow()
            category = await connection.execute(
                insert(Category)
                .values(
                    title="Apps",
                    slug="apps",
                    description="",
                    title_plural="Apps",
                    show_pypi=True,
                    created=now,
                    modified=now,
                )
                .returning(Category.id)
            )
            category_id = category.scalar_one()
            rows = [
                {
                    "title": f"Package {number}",
                    "slug": f"package-{number}",
                    "category_id": category_id,
                    "repo_url": f"https://github.com/owner{number % 97}/repo{number}",
                    "repo_host": "github",
                    "repo_description": "",
                    "repo_watchers": 0,
                    "repo_forks": 0,
                    "participants": [],
                    "commits_over_52": [0] * 52,
                    "pypi_url": f"https://pypi.org/project/package-{number}/",
                    "documentation_url": "",
                    "pypi_classifiers": [],
                    "score": 0,
                    "refresh_error": "",
                    "refresh_failures": 0,
                    "created": now,
                    "modified": now,
                }
                for number in range(count)
            ]
            for start in range(0, count, 500):
                await connection.execute(insert(Package), rows[start : start + 500])
    finally:
        await engine.dispose()


def report(label: str, summary: RunSummary, count: int, requests: int, points: int) -> None:
    seconds = summary.seconds
    outcomes = ", ".join(f"{k.value} {v}" for k, v in sorted(summary.outcomes.items()))
    not_modified = sum(summary.usage.not_modified.values())
    print(f"{label}: {seconds:.1f} s wall, {count / seconds:.0f} packages/s")
    print(
        f"  HTTP requests per package: {requests / count:.2f} ({requests} total, "
        f"{not_modified} answered 304)"
    )
    print(
        f"  GitHub points per package: {summary.usage.github_points / count:.3f} "
        f"({summary.usage.github_points} counted by the client, {points} charged by the fake)"
    )
    print(
        f"  outcomes: {outcomes}" + (f"; RUN FAILURE: {summary.failure}" if summary.failure else "")
    )


def serve_fakes(count: int, latency: float, pipe: Connection) -> None:
    """The fake upstreams, in a process of their own: the forges' CPU is not the
    refresher's (in one process, serving the fakes took as much CPU as refreshing)."""
    asyncio.run(_serve_fakes(count, latency, pipe))


async def _serve_fakes(count: int, latency: float, pipe: Connection) -> None:
    github_schema()  # the fake parses GitHub's schema once: not the refresher's time
    github, pypi = world(count)
    github_recorder, pypi_recorder = Recorder(github.app, latency), Recorder(pypi.app, latency)

    async def stats(_request: Request) -> JSONResponse:
        seen = len(github_recorder.seen) + len(pypi_recorder.seen)
        return JSONResponse({"points": github.points, "requests": seen})

    stats_app = Starlette(routes=[Route("/stats", stats)])
    async with (
        serve_on_loopback(github_recorder) as github_base,
        serve_on_loopback(pypi_recorder) as pypi_base,
        serve_on_loopback(stats_app) as stats_base,
    ):
        pipe.send((github_base, pypi_base, stats_base))
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # until told to stop


async def fake_stats(client: httpx.AsyncClient, base: str) -> tuple[int, int]:
    answer = (await client.get(f"{base}/stats")).json()
    return int(answer["points"]), int(answer["requests"])


async def bench(args: argparse.Namespace, bases: tuple[str, str, str]) -> None:
    count = args.packages
    github_base, pypi_base, stats_base = bases
    database_name = None
    with tempfile.TemporaryDirectory() as workdir:
        if args.database == "sqlite":
            url = f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}"
        else:
            database_name = f"bench_refresh_{uuid.uuid4().hex[:8]}"
            await admin(f'CREATE DATABASE "{database_name}"')
            url = POSTGRES_SERVER.rsplit("/", 1)[0] + f"/{database_name}"
        try:
            settings = Settings(
                database_url=url,
                github_api_url=github_base,
                github_graphql_url=f"{github_base}/graphql",
                github_token="bench-token",  # noqa: S106 (the fake accepts any)
                pypi_url=pypi_base,
                refresh_concurrency=args.concurrency,
                refresh_batch_size=args.batch_size,
                upstream_max_in_flight=args.in_flight,
                db_pool_size=args.concurrency + 5,
            )
            await asyncio.to_thread(upgrade, settings)
            await seed(settings, count)
            print(
                f"{count} packages on {args.database}, {args.latency * 1000:.0f} ms per "
                f"request, concurrency {args.concurrency} x batch {args.batch_size}, "
                f"{args.in_flight} requests in flight per upstream"
            )
            engine = create_engine(settings)
            try:
                maker = create_sessionmaker(engine)
                everything = Selection(stale_after=None, respect_backoff=False)
                async with httpx.AsyncClient() as stats_client:
                    for label in ("cold", "warm"):
                        points_before, seen_before = await fake_stats(stats_client, stats_base)
                        async with open_forges(settings) as forges:
                            refresher = Refresher(maker, forges, settings)
                            started = time.perf_counter()
                            summary = await refresher.run(everything)
                            elapsed = time.perf_counter() - started
                        summary.finished = summary.started + dt.timedelta(seconds=elapsed)
                        points, seen = await fake_stats(stats_client, stats_base)
                        report(label, summary, count, seen - seen_before, points - points_before)
            finally:
                await engine.dispose()
        finally:
            if database_name:
                await admin(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')


async def admin(statement: str) -> None:
    engine = create_engine(Settings(database_url=POSTGRES_SERVER), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--concurrency", type=int, default=Settings.model_fields["refresh_concurrency"].default
    )
    parser.add_argument(
        "--batch-size", type=int, default=Settings.model_fields["refresh_batch_size"].default
    )
    parser.add_argument(
        "--in-flight", type=int, default=Settings.model_fields["upstream_max_in_flight"].default
    )
    args = parser.parse_args()
    os.environ.setdefault("REFRESH_ENABLED", "false")
    ours, theirs = multiprocessing.Pipe()
    fakes = multiprocessing.get_context("spawn").Process(
        target=serve_fakes, args=(args.packages, args.latency, theirs), daemon=True
    )
    fakes.start()
    try:
        bases = ours.recv()
        asyncio.run(bench(args, bases))
    finally:
        ours.send("stop")
        fakes.join(timeout=10)


if __name__ == "__main__":
    main()
