"""Benchmark: a cold and a warm full refresh of a directory shaped like djangopackages',
against fakes that behave like its upstreams: per-field accuracy and GitHub's cost after
each run, side by side with the targets.

    uv run python bench/refresh.py                      # 2,000 packages, SQLite, 50 ms
    uv run python bench/refresh.py --database postgresql --packages 500
    uv run python bench/refresh.py --quick              # 120 packages, no latency, one process

The world (bench/refresh_world.py): GitHub repositories whose statistics endpoint answers
202 one to three times before a 200, renamed ones, busy ones with pages of history, empty
and archived ones; projects on gitlab.com and on Codeberg; PyPI projects; packages on no
forge. The fakes (tests/fakes) run on loopback, in a process of their own unless --quick,
with `--latency` seconds added to every request; the real forge clients and the real
refresher (`Refresher.run`, as `packages-api refresh --all` runs it) do the work. The cold
run starts from nothing fetched (`commits_over_52` is `[]`, unknown); the warm run follows
at once.

"GitHub points" are what the fake GitHub charged, by GitHub's rules (tests/fakes/github.py:
GraphQL's rateLimit cost, and every REST answer but a 304), divided by the packages on
GitHub; the client's own count is shown beside them.

Targets (issue 15): every field right for 100% of the packages after each run; cold <= 2.5
and warm <= 0.05 GitHub points per GitHub package. Speed (issue 3; 2-core machine, 2,000
packages): cold < 60 s, warm < 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.columns import utcnow
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.forges.registry import open_forges
from app.migrate import upgrade
from app.models import Category, Package
from app.refresh.refresher import Refresher, RunSummary
from app.refresh.repository import Selection
from bench.pg_admin import admin
from bench.refresh_world import FIELDS, World, build
from tests.fakes import Recorder, serve_on_loopback
from tests.fakes.schema import github_schema

POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
COLD_TARGET = 2.5  # GitHub points per GitHub package
WARM_TARGET = 0.05
QUICK_PACKAGES = 120


@dataclass
class Bases:
    github: str
    gitlab: str
    codeberg: str
    pypi: str
    stats: str


@dataclass
class RunFigures:
    label: str
    seconds: float
    summary: RunSummary
    points: int  # charged by the fake GitHub
    requests: int  # received by all the fakes
    stats_asks: int  # GitHub /stats requests (202s included)
    wrong: dict[str, list[str]] = field(default_factory=dict)  # field -> slugs

    def accuracy(self, name: str, packages: int) -> float:
        return 100.0 * (packages - len(self.wrong.get(name, []))) / packages


@dataclass
class Result:
    packages: int
    github_packages: int
    runs: list[RunFigures]

    def points_per_github_package(self, run: RunFigures) -> float:
        return run.points / max(self.github_packages, 1)

    @property
    def all_right(self) -> bool:
        return all(not run.wrong for run in self.runs)


# --- the fakes -----------------------------------------------------------------------


@asynccontextmanager
async def fakes_served(world: World, latency: float) -> AsyncIterator[Bases]:
    recorders = {
        name: Recorder(fake.app, latency)
        for name, fake in (
            ("github", world.github),
            ("gitlab", world.gitlab),
            ("codeberg", world.codeberg),
            ("pypi", world.pypi),
        )
    }

    async def stats(_request: Request) -> JSONResponse:
        seen = sum(len(recorder.seen) for recorder in recorders.values())
        asks = sum(1 for path in recorders["github"].paths() if "/stats/" in path)
        return JSONResponse({"points": world.github.points, "requests": seen, "stats": asks})

    async with AsyncExitStack() as stack:
        bases = {
            name: await stack.enter_async_context(serve_on_loopback(recorder))
            for name, recorder in recorders.items()
        }
        stats_base = await stack.enter_async_context(
            serve_on_loopback(Starlette(routes=[Route("/stats", stats)]))
        )
        yield Bases(**bases, stats=stats_base)


def serve_fakes(count: int, now: dt.datetime, latency: float, pipe: Connection) -> None:
    """The fakes in a process of their own: the upstreams' CPU is not the refresher's."""
    asyncio.run(_serve_fakes(count, now, latency, pipe))


async def _serve_fakes(count: int, now: dt.datetime, latency: float, pipe: Connection) -> None:
    github_schema()  # parsed once here: not the refresher's time
    async with fakes_served(build(count, now), latency) as bases:
        pipe.send(bases)
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # until told to stop


@asynccontextmanager
async def fakes(
    count: int, now: dt.datetime, latency: float, *, apart: bool
) -> AsyncIterator[Bases]:
    if not apart:
        async with fakes_served(build(count, now), latency) as bases:
            yield bases
        return
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve_fakes, args=(count, now, latency, theirs), daemon=True
    )
    process.start()
    try:
        yield await asyncio.get_running_loop().run_in_executor(None, ours.recv)
    finally:
        ours.send("stop")
        process.join(timeout=10)


async def fake_stats(client: httpx.AsyncClient, base: str) -> dict[str, int]:
    return {key: int(value) for key, value in (await client.get(f"{base}/stats")).json().items()}


# --- the database --------------------------------------------------------------------


async def seed(settings: Settings, world: World) -> None:
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
                    **package,
                    "title": package["slug"].replace("-", " ").title(),
                    "category_id": category_id,
                    "repo_host": _host(package["repo_url"]),
                    "repo_description": "",
                    "repo_watchers": 0,
                    "repo_forks": 0,
                    "participants": [],
                    "commits_over_52": [],  # never fetched: unknown
                    "documentation_url": "",
                    "pypi_classifiers": [],
                    "score": 0,
                    "refresh_error": "",
                    "refresh_failures": 0,
                    "created": now,
                    "modified": now,
                }
                for package in world.packages
            ]
            for start in range(0, len(rows), 500):
                await connection.execute(insert(Package), rows[start : start + 500])
    finally:
        await engine.dispose()


def _host(repo_url: str | None) -> str:
    if not repo_url:
        return ""
    return {"github.com": "github", "gitlab.com": "gitlab"}.get(repo_url.split("/")[2], "forgejo")


async def wrong_fields(settings: Settings, world: World) -> dict[str, list[str]]:
    """For each field, the packages whose stored value is not what the world says."""
    columns = [getattr(Package, name) for name in FIELDS if name != "archived"]
    engine = create_engine(settings)
    wrong: dict[str, list[str]] = {}
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(select(Package.slug, Package.date_repo_archived, *columns))
            for slug, archived_at, *values in rows:
                stored = dict(zip([n for n in FIELDS if n != "archived"], values, strict=True))
                stored["archived"] = archived_at is not None
                expected = world.expected[slug].values()
                for name in FIELDS:
                    if stored[name] != expected[name]:
                        wrong.setdefault(name, []).append(slug)
    finally:
        await engine.dispose()
    return wrong


@asynccontextmanager
async def database(kind: str, workdir: str, given: str | None) -> AsyncIterator[str]:
    if given is not None:  # a test's database
        yield given
        return
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}"
        return
    name = f"bench_refresh_{uuid.uuid4().hex[:8]}"
    await admin(POSTGRES_SERVER, f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin(POSTGRES_SERVER, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the runs ------------------------------------------------------------------------


async def measure(
    *,
    packages: int = QUICK_PACKAGES,
    latency: float = 0.0,
    database_kind: str = "sqlite",
    database_url: str | None = None,
    apart: bool = False,
    concurrency: int | None = None,
    batch_size: int | None = None,
    in_flight: int | None = None,
) -> Result:
    """A cold and a warm full refresh of the world; what each cost and got right."""
    now = dt.datetime.now(dt.UTC)
    world = build(packages, now)  # what the fakes answer, to check the results against
    with tempfile.TemporaryDirectory() as workdir:
        async with (
            fakes(packages, now, latency, apart=apart) as bases,
            database(database_kind, workdir, database_url) as url,
        ):
            defaults = Settings.model_fields
            concurrency = concurrency or defaults["refresh_concurrency"].default
            settings = Settings(
                database_url=url,
                github_api_url=bases.github,
                github_graphql_url=f"{bases.github}/graphql",
                github_token="bench-token",  # noqa: S106 (the fake accepts any)
                # gitlab.com pointed at the fake, as an operator points it at a mirror.
                gitlab_instances={"gitlab.com": bases.gitlab},
                forgejo_instances={"codeberg.org": f"{bases.codeberg}/api/v1"},
                pypi_url=bases.pypi,
                refresh_concurrency=concurrency,
                refresh_batch_size=batch_size or defaults["refresh_batch_size"].default,
                upstream_max_in_flight=in_flight or defaults["upstream_max_in_flight"].default,
                db_pool_size=concurrency + 5,
            )
            await asyncio.to_thread(upgrade, settings)
            await seed(settings, world)
            runs: list[RunFigures] = []
            engine = create_engine(settings)
            try:
                maker = create_sessionmaker(engine)
                everything = Selection(stale_after=None, respect_backoff=False)
                async with httpx.AsyncClient() as client:
                    for label in ("cold", "warm"):
                        before = await fake_stats(client, bases.stats)
                        async with open_forges(settings) as forges:
                            refresher = Refresher(maker, forges, settings)
                            started = time.perf_counter()
                            summary = await refresher.run(
                                everything, pending_wait=settings.refresh_pending_wait
                            )
                            seconds = time.perf_counter() - started
                        after = await fake_stats(client, bases.stats)
                        runs.append(
                            RunFigures(
                                label,
                                seconds,
                                summary,
                                points=after["points"] - before["points"],
                                requests=after["requests"] - before["requests"],
                                stats_asks=after["stats"] - before["stats"],
                                wrong=await wrong_fields(settings, world),
                            )
                        )
            finally:
                await engine.dispose()
    return Result(packages, world.github_packages, runs)


def report(result: Result, args: argparse.Namespace) -> None:
    others = result.packages - result.github_packages
    print(
        f"{result.packages} packages ({result.github_packages} on GitHub, {others} on "
        f"gitlab.com, Codeberg or PyPI only) on {args.database}, {args.latency * 1000:.0f} ms "
        f"per request{', fakes in this process' if args.quick else ''}"
    )
    cold, warm = result.runs
    github = max(result.github_packages, 1)
    per_package = [result.points_per_github_package(run) for run in (cold, warm)]
    client = [run.summary.usage.github_points / github for run in (cold, warm)]
    requests = [run.requests / result.packages for run in (cold, warm)]
    rows = [
        ("", "cold", "warm", "target"),
        (
            "GitHub points per GitHub package",
            f"{per_package[0]:.3f}",
            f"{per_package[1]:.3f}",
            f"<= {COLD_TARGET} / <= {WARM_TARGET}",
        ),
        ("  as the client counted them", f"{client[0]:.3f}", f"{client[1]:.3f}", ""),
        ("  GitHub /stats requests", str(cold.stats_asks), str(warm.stats_asks), ""),
        ("HTTP requests per package", f"{requests[0]:.2f}", f"{requests[1]:.2f}", ""),
        ("wall seconds", f"{cold.seconds:.1f}", f"{warm.seconds:.1f}", "< 60 / < 30 at 2,000"),
    ]
    for name in FIELDS:
        right = [f"{run.accuracy(name, result.packages):.1f}%" for run in (cold, warm)]
        rows.append((f"right: {name}", right[0], right[1], "100%"))
    width = max(len(row[0]) for row in rows)
    for label, first, second, target in rows:
        print(f"  {label:<{width}}  {first:>8}  {second:>8}  {target}")
    for run in (cold, warm):
        outcomes = ", ".join(f"{k.value} {v}" for k, v in sorted(run.summary.outcomes.items()))
        failure = f"; RUN FAILURE: {run.summary.failure}" if run.summary.failure else ""
        print(f"  {run.label} outcomes: {outcomes}{failure}")
        for name, slugs in run.wrong.items():
            print(f"  {run.label}: {name} wrong for {len(slugs)}, e.g. {', '.join(slugs[:3])}")
    met = result.all_right and per_package[0] <= COLD_TARGET and per_package[1] <= WARM_TARGET
    print(f"  accuracy and cost targets: {'met' if met else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--in-flight", type=int, default=None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_PACKAGES} packages, no latency, fakes in this process (what a test runs)",
    )
    args = parser.parse_args()
    if args.quick:
        args.packages, args.latency = QUICK_PACKAGES, 0.0
    os.environ.setdefault("REFRESH_ENABLED", "false")
    # Warnings (a retried request, a failed package) say where they come from.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = asyncio.run(
        measure(
            packages=args.packages,
            latency=args.latency,
            database_kind=args.database,
            apart=not args.quick,
            concurrency=args.concurrency,
            batch_size=args.batch_size,
            in_flight=args.in_flight,
        )
    )
    report(result, args)


if __name__ == "__main__":
    main()
