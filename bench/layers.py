"""Where an uncached answer's CPU goes, layer by layer: the same requests, in-process, through
servers that each add one layer to the one before.

    uv run python bench/layers.py [--packages 10000] [--requests 2000] [--rounds 3]
        [--database-url postgresql://postgres@127.0.0.1/postgres]

Creates a throwaway database on --database-url's server, migrated and filled with N packages
(bench/dataset.py), and calls each server as an ASGI app from this process (no HTTP server,
no load generator: nothing else shares the CPU), timing the process's CPU per request,
--rounds times in alternation (the medians are printed), one app alive at a time:

1. baseline: bench/baseline.py (raw ASGI, asyncpg, hand-serialised JSON);
2. floor: bench/fastapi_floor.py (the same SQL and JSON in two FastAPI routes);
3. floor behind our middleware: the floor inside the service's whole middleware list
   (app.middleware_stack: request id, access log line, metrics, cache policy, compression,
   security headers, body limit, the method table), logging as the service logs;
4. service, cache off: `create_app` with CACHE_ENABLED=false;
5. service, cache on: the same, where every timed request is a hit (the warm-up asks for
   every path once).

It prints, for a package detail and list page 1, the CPU per request, its ratio to the
baseline's, and the throughput ratio that CPU allows at most (baseline CPU / layer CPU: one
worker answers at most as many requests a second as its CPU per request allows), next to
bench/api.py's targets. PostgreSQL's own CPU is not counted (another process), nor is an
HTTP server's; bench/api.py measures those under load.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, redirect_stderr
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dataset import load
from in_process import throwaway_database
from pg_admin import asyncpg_dsn

from app.config import Settings
from app.main import create_app
from app.middleware_stack import install_middleware
from app.observability.logs import configure_logging
from bench.baseline import Baseline
from bench.fastapi_floor import create_app as floor_app

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "/api/v4/packages/"
HEADERS = [(b"host", b"127.0.0.1:8781"), (b"accept", b"*/*"), (b"user-agent", b"bench")]
# bench/api.py's targets for the uncached service, as throughput against the baseline's.
TARGETS = {"detail": 0.4, "list page 1": 0.5}
WARM_UP = 300
DISTINCT_DETAILS = 1_000  # packages asked for, in turn; each asked for once to warm up

App = Callable[..., Any]


@asynccontextmanager
async def running(app: App) -> AsyncIterator[None]:
    """The app's ASGI lifespan, started and shut down as a server would."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started, stopped = asyncio.Event(), asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.failed":
            raise SystemExit(f"the app did not start: {message.get('message', '')}")
        if message["type"].startswith("lifespan.startup"):
            started.set()
        elif message["type"].startswith("lifespan.shutdown"):
            stopped.set()

    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
    )
    await inbox.put({"type": "lifespan.startup"})
    await started.wait()
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await stopped.wait()
        await task


async def get(app: App, path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": HEADERS,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8781),
        "state": {},
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses != [200]:
        raise SystemExit(f"GET {path} answered {statuses}, not 200")


async def cpu_per_request(app: App, paths: list[str], requests: int) -> float:
    """Milliseconds of this process's CPU per request, after a warm-up that asks for every
    path once, and at least WARM_UP requests (so with the cache on, every timed request is
    a hit, and the pools and statement caches are full)."""
    for index in range(max(len(paths), WARM_UP)):
        await get(app, paths[index % len(paths)])
    started = time.process_time()
    for index in range(requests):
        await get(app, paths[index % len(paths)])
    return 1000 * (time.process_time() - started) / requests


def servers(dsn: str, url: str) -> list[tuple[str, Callable[[], App]]]:
    os.environ["BASELINE_DATABASE_URL"] = dsn  # read by the baseline's and floor's lifespans

    def settings(cache: bool) -> Settings:
        # The service's own defaults but the cache and the refresher (which would write).
        return Settings(database_url=url, refresh_enabled=False, cache_enabled=cache)

    def floor_behind_middleware() -> App:
        app = floor_app()
        install_middleware(app, settings(False), [])
        return app

    return [
        ("baseline", Baseline),
        ("floor (FastAPI)", floor_app),
        ("floor behind our middleware", floor_behind_middleware),
        ("service, cache off", lambda: create_app(settings(False))),
        ("service, cache on (hits)", lambda: create_app(settings(True))),
    ]


async def measure(server: str, packages: int, requests: int, rounds: int) -> None:
    async with throwaway_database(server) as url:
        rows = await layers(url, packages, requests, rounds)
    report(rows, packages, requests, rounds)


async def layers(
    url: str, packages: int, requests: int, rounds: int
) -> list[tuple[str, dict[str, float]]]:
    """Fills the migrated, empty database at `url` and measures every layer on it: the
    median CPU milliseconds per request of each, by kind of request."""
    dsn = asyncpg_dsn(url)
    await load(dsn, packages, echo=False)
    rng = random.Random(7)  # noqa: S311 (which rows to ask for, not secrets)
    ids = rng.sample(range(1, packages + 1), min(DISTINCT_DETAILS, packages))
    paths = {"detail": [f"{PREFIX}{i}/" for i in ids], "list page 1": [PREFIX]}
    configure_logging(Settings(database_url=url))
    made = servers(dsn, url)
    taken: dict[str, dict[str, list[float]]] = {name: {k: [] for k in paths} for name, _ in made}
    # In alternation, as bench/api.py runs its servers, so a slower stretch of the
    # machine falls on every layer alike; one app alive at a time, as in a worker (the
    # garbage collector's passes grow with every object alive).
    for _round in range(rounds):
        for name, make in made:
            app = make()
            async with running(app):
                for kind, kind_paths in paths.items():
                    figure = await cpu_per_request(app, kind_paths, requests)
                    taken[name][kind].append(figure)
            del app
            gc.collect()
    rows = [
        (name, {kind: statistics.median(figures) for kind, figures in kinds.items()})
        for name, kinds in taken.items()
    ]
    for name, figures in rows:
        print(f"  {name}: " + ", ".join(f"{k} {v:.3f} ms" for k, v in figures.items()), flush=True)
    return rows


def report(
    rows: list[tuple[str, dict[str, float]]], packages: int, requests: int, rounds: int
) -> None:
    base = rows[0][1]
    print(
        f"\n{packages:,} packages, medians of {rounds} rounds in alternation of {requests:,}"
        f" requests each (details: {DISTINCT_DETAILS:,}"
        " packages in turn, each asked for once before, to warm up);"
        " CPU of this process per request (PostgreSQL's not counted)\n"
    )
    header = ["layer"]
    for kind in base:
        header += [
            f"{kind} CPU ms",
            "x baseline CPU",
            f"throughput at most (target {TARGETS[kind]}x)",
        ]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for name, figures in rows:
        cells = [name]
        for kind, cpu in figures.items():
            cells += [f"{cpu:.3f}", f"{cpu / base[kind]:.2f}x", f"{base[kind] / cpu:.2f}x"]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER)
    )
    arguments = parser.parse_args()
    # The access log lines are formatted as the service formats them, and dropped.
    with open(os.devnull, "w") as sink, redirect_stderr(sink):
        asyncio.run(
            measure(
                arguments.database_url, arguments.packages, arguments.requests, arguments.rounds
            )
        )


if __name__ == "__main__":
    main()
