"""API throughput and latency under load: the service against a bare asyncpg baseline and
the same work inside a bare FastAPI app.

    uv run python bench/api.py [--packages 100000] [--duration 10] [--connections 32]
        [--workers 1[,2]] [--rounds 2] [--database-url postgresql://postgres@127.0.0.1/postgres]
        [--keep | --reuse] [--no-floor] [--scenarios 'page 1,offset,detail by id']
        [--cache off,on] [--write-rate 12]

Creates a database `packages_api_bench_...` on the PostgreSQL server of --database-url,
migrates it and fills it with N packages (bench/dataset.py, by COPY); starts the service
(`packages-api serve --workers W`), the baseline (bench/baseline.py: raw ASGI, asyncpg)
and the FastAPI floor (bench/fastapi_floor.py: the baseline's SQL and JSON in two FastAPI
routes, no middleware, no ORM), the last two under uvicorn with one worker, each in its
own process, on that database. For each scenario it drives them in alternation (service,
baseline, floor, service, ...: --rounds rounds; the baseline and the floor only where they
have the endpoint) with wrk on loopback, --connections connections, two wrk threads, and
prints the medians as a markdown table: requests per second, p50 and p99 latency, the
service/baseline and service/floor ratios, the CPU each server spent per request, and the
service's peak RSS per worker. The baseline is what any Python server must do; the floor
adds what FastAPI alone costs; the rest of the service's gap is our own layers.
--no-floor leaves the floor and its columns out. Paths are drawn at random from a list
per scenario (bench/wrk_paths.lua), so no cache answers the same question all the time.
The service runs once per --cache setting (CACHE_ENABLED false, then true: the read cache
of app/cache/), each a column group against the same baseline; with the cache on, the
same paths repeat, so after the warm-up its figures are cache hits. Two more runs follow
when the cache is on: the detail hit ratio while a writer in another process updates
--write-rate random packages a second (as a refresher keeping a million packages fresh
daily does), and a write through one `serve` process followed by reads through another:
how many answers are stale 100 ms after the write was acknowledged, and how long the
other process took to answer the new one.
The database is dropped at the end unless --keep; --reuse takes a kept one (same
--packages) instead of generating it again.
Needs wrk (Debian/Ubuntu: `apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset import WORDS, load
from pg_admin import admin, asyncpg_dsn

from app.config import Settings
from app.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "wrk_paths.lua"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVICE_PORT, BASELINE_PORT, FLOOR_PORT = 8781, 8782, 8783
CURSOR_DEPTH = 20_000  # packages skipped before the cursor pages measured


@dataclass
class Scenario:
    name: str
    service: list[str]
    # The baseline's paths for the same answer, or None when it has no such endpoint.
    baseline: list[str] | None = None
    note: str = ""


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    failures: int
    # CPU the server's processes spent per request: steadier than req/s on a shared machine.
    cpu_ms: float = 0.0


@dataclass
class Result:
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def median(self, target: str) -> Run | None:
        runs = self.runs.get(target)
        if not runs:
            return None
        return Run(
            rps=statistics.median(r.rps for r in runs),
            p50_ms=statistics.median(r.p50_ms for r in runs),
            p99_ms=statistics.median(r.p99_ms for r in runs),
            failures=sum(r.failures for r in runs),
            cpu_ms=statistics.median(r.cpu_ms for r in runs),
        )


async def _package_count(dsn: str) -> int | None:
    try:
        connection = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        return int(await connection.fetchval("SELECT count(*) FROM packages"))
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await connection.close()


async def prepare(server: str, name: str, packages: int, reuse: bool) -> str:
    """The database's DSN, created, migrated and filled unless a kept one is reused."""
    dsn = asyncpg_dsn(server, name)
    if reuse and await _package_count(dsn) == packages:
        print(f"reusing database {name} ({packages:,} packages)", flush=True)
        await asyncio.to_thread(upgrade, Settings(database_url=dsn))
        return dsn
    await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(server, f'CREATE DATABASE "{name}"')
    await asyncio.to_thread(upgrade, Settings(database_url=dsn))
    print(f"generating {packages:,} packages into {name} ...", flush=True)
    took = await load(dsn, packages)
    print(f"generated in {took:.0f} s", flush=True)
    return dsn


async def sample_paths(dsn: str, packages: int) -> dict[str, list[str]]:
    rng = random.Random(7)  # noqa: S311 (which rows to ask for, not secrets)
    connection = await asyncpg.connect(dsn)
    try:
        ids = [rng.randint(1, packages) for _ in range(2000)]
        slugs = await connection.fetch(
            "SELECT slug FROM packages WHERE id = ANY($1::int[])", ids[:1000]
        )
        grids = await connection.fetch("SELECT id FROM grids ORDER BY random() LIMIT 500")
        categories = await connection.fetch("SELECT id FROM categories")
    finally:
        await connection.close()
    words = WORDS + [f"django {w}" for w in WORDS[:30]] + [w[:4] for w in WORDS[:30]]
    return {
        "ids": [f"/api/v4/packages/{i}/" for i in ids],
        "slugs": [f"/api/v4/packages/{row['slug']}/" for row in slugs],
        "grids": [f"/api/v4/grids/{row['id']}/" for row in grids],
        "filtered": [
            f"/api/v4/packages/?category={row['id']}&ordering=-repo_watchers" for row in categories
        ],
        "search": [f"/api/v4/search/?{urlencode({'q': w})}" for w in words],
    }


def _path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _with_limit(link: str, limit: int) -> str:
    parts = urlsplit(link)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | {"limit": str(limit)}
    return f"{parts.path}?{urlencode(sorted(query.items()))}"


def cursor_paths(base: str, depth: int) -> tuple[list[str] | None, str]:
    """Pages `depth` packages deep reached by following `next` from `?cursor=`, or None
    (and why) when the service has no cursor pages."""
    with httpx.Client(base_url=base, timeout=30) as client:
        response = client.get("/api/v4/packages/", params={"cursor": "", "limit": 100})
        if response.status_code != 200:
            return None, f"n/a (no cursor support: {response.status_code})"
        link = response.json().get("next")
        query = dict(parse_qsl(urlsplit(link or "").query))
        if not query.get("cursor") or "offset" in query:
            # An unknown parameter is ignored, and `next` then goes on by offset.
            return None, "n/a (no cursor support)"
        seen = 100
        found: list[str] = []
        while link and seen < depth + 2000:
            if seen >= depth:
                found.append(_with_limit(link, 20))
            response = client.get(_path_of(link))
            response.raise_for_status()
            link = response.json().get("next")
            seen += 100
        return found, ""


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a server: the process and its workers."""
    ticks = 0
    for each in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(
    base: str, paths: list[str], duration: int, connections: int, workdir: Path, pid: int
) -> Run:
    listing = workdir / f"paths-{uuid.uuid4().hex[:6]}.txt"
    listing.write_text("\n".join(paths) + "\n")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s"]
    command += ["-s", str(LUA), base, "--", str(listing)]
    cpu_before = cpu_seconds(pid)
    done = subprocess.run(command, capture_output=True, text=True)  # noqa: S603
    cpu = cpu_seconds(pid) - cpu_before
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(
        rps=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        failures=figures["non_2xx"] + figures["socket_errors"],
        cpu_ms=cpu * 1000 / max(1, figures["requests"]),
    )


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *_descendants(int(child))]
    except OSError:
        pass
    return found


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb(pid: int) -> float:
    """The largest peak RSS among the service's workers (the process itself with one)."""
    workers = [p for p in _descendants(pid) if _status_kb(p, "VmHWM") > 0] or [pid]
    return max(_status_kb(p, "VmHWM") for p in workers) / 1024


@contextmanager
def started(command: list[str], env: dict[str, str], url: str, log: Path) -> Iterator[int]:
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603
            command, env=os.environ | env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{command[0]} exited; its log:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer in 120 s; log:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def service_command(workers: int, port: int = SERVICE_PORT) -> list[str]:
    executable = Path(sys.executable).parent / "packages-api"
    return [str(executable), "serve", "--workers", str(workers), "--port", str(port)]


def baseline_command() -> list[str]:
    return [sys.executable, "-m", "uvicorn", "bench.baseline:app", "--port", str(BASELINE_PORT)]


def floor_command() -> list[str]:
    return [sys.executable, "-m", "uvicorn", "bench.fastapi_floor:app", "--port", str(FLOOR_PORT)]


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _figures(run: Run) -> list[str]:
    flag = f" ({run.failures} failed)" if run.failures else ""
    return [f"{run.rps:,.0f}{flag}", _ms(run.p50_ms), _ms(run.p99_ms)]


@dataclass(frozen=True)
class Config:
    """One way the service is run: its worker count and whether its read cache is on."""

    workers: int
    cache: bool

    @property
    def target(self) -> str:
        return f"service w{self.workers} cache {'on' if self.cache else 'off'}"

    @property
    def label(self) -> str:
        plural = "s" if self.workers > 1 else ""
        return f"service ({self.workers} worker{plural}, cache {'on' if self.cache else 'off'})"


def table(
    scenarios: list[Scenario], results: dict[str, Result], configs: list[Config], *, floor: bool
) -> str:
    first = configs[0].target
    head = ["scenario"]
    for config in configs:
        head += [f"{config.label} req/s", "p50 ms", "p99 ms", "/baseline req/s", "p99"]
    head += ["baseline req/s", "p50 ms", "p99 ms"]
    if floor:
        head += ["floor req/s", "p50 ms", "p99 ms", "service/floor req/s"]
    head += ["CPU ms/req service", "baseline", "ratio"]
    if floor:
        head += ["floor"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for scenario in scenarios:
        result = results[scenario.name]
        base, ours = result.median("baseline"), result.median(first)
        least = result.median("floor")
        cells = [scenario.name]
        for config in configs:
            run = result.median(config.target)
            if run is None:
                cells += [scenario.note or "n/a", "", "", "", ""]
                continue
            cells += _figures(run)
            if base is None or not base.rps:
                cells += ["", ""]
            else:
                cells += [f"{run.rps / base.rps:.2f}x", f"{run.p99_ms / base.p99_ms:.2f}x"]
        cells += ["—", "", ""] if base is None else _figures(base)
        if floor:
            if least is None:
                cells += ["—", "", "", ""]
            else:
                cells += _figures(least)
                cells.append(f"{ours.rps / least.rps:.2f}x" if ours else "")
        cells.append(f"{ours.cpu_ms:.2f}" if ours else "")
        if base is None or ours is None or not base.cpu_ms:
            cells += ["", ""]
        else:
            cells += [f"{base.cpu_ms:.2f}", f"{ours.cpu_ms / base.cpu_ms:.1f}x"]
        if floor:
            cells.append(f"{least.cpu_ms:.2f}" if least else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().split()[1]
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {int(memory) / 1024 / 1024:.0f} GB RAM, "
        f"Python {platform.python_version()}"
    )


def fill(base: str, paths: list[str]) -> None:
    """Ask each distinct path once, so the runs that follow measure a warm read cache (the
    same URLs repeated), not how fast it fills."""
    distinct = list(dict.fromkeys(paths))

    async def ask_all() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            # As wrk asks: no Accept-Encoding (gzip is part of the cache's key).
            del client.headers["accept-encoding"]
            for start in range(0, len(distinct), 16):
                await asyncio.gather(*(client.get(p) for p in distinct[start : start + 16]))

    asyncio.run(ask_all())


def settle(dsn: str) -> None:
    """Wait until the database is idle again, cancelling what a run left running: a server
    whose client gave up at wrk's timeout still runs the statements it sent, and the ones
    still queued behind them (at offset 500,000 the baseline's backlog would load the
    database for minutes, through the rows measured next)."""

    async def cancel() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                cancelled = await connection.fetchval(
                    "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND state = 'active'"
                    " AND pid <> pg_backend_pid()"
                )
                if not cancelled:
                    return
                await asyncio.sleep(0.3)
        finally:
            await connection.close()

    asyncio.run(cancel())


def _cache_counts(base: str) -> dict[str, float]:
    """The read cache's lookups so far, by result, from /metrics."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("packages_api_cache_requests_total{"):
            result = line.split('result="', 1)[1].split('"', 1)[0]
            counts[result] = float(line.rsplit(" ", 1)[1])
    return counts


async def _write_packages(dsn: str, packages: int, rate: float, stop: asyncio.Event) -> int:
    """What a refresher does to the directory: `rate` random packages a second get new
    figures (a Core UPDATE, committed), from another process's connection."""
    rng = random.Random(11)  # noqa: S311 (which rows to touch, not secrets)
    connection = await asyncpg.connect(dsn)
    written = 0
    try:
        started_at = time.monotonic()
        while not stop.is_set():
            await connection.execute(
                "UPDATE packages SET repo_watchers = repo_watchers + 1, last_fetched = now()"
                " WHERE id = $1",
                rng.randint(1, packages),
            )
            written += 1
            pause = started_at + written / rate - time.monotonic()
            if pause > 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
    finally:
        await connection.close()
    return written


def hit_ratio_under_writes(
    arguments: argparse.Namespace,
    dsn: str,
    database: dict[str, str],
    details: list[str],
    workdir: Path,
) -> str:
    """The detail hit ratio of one worker with its cache on while a writer in another
    process updates --write-rate random packages a second."""
    base = f"http://127.0.0.1:{SERVICE_PORT}"
    environment = database | {"CACHE_ENABLED": "true"}
    with started(service_command(1), environment, f"{base}/readyz", workdir / "h.log") as pid:
        fill(base, details)
        before = _cache_counts(base)
        stop = asyncio.Event()

        async def run() -> tuple[Run, int]:
            writer = asyncio.create_task(
                _write_packages(dsn, arguments.packages, arguments.write_rate, stop)
            )
            reads = await asyncio.to_thread(
                wrk, base, details, arguments.duration, arguments.connections, workdir, pid
            )
            stop.set()
            return reads, await writer

        reads, written = asyncio.run(run())
        after = _cache_counts(base)
    change = {key: after.get(key, 0) - before.get(key, 0) for key in after}
    looked_up = sum(change.values()) or 1
    return (
        f"detail hit ratio while another process writes {written / arguments.duration:.1f} "
        f"packages/s ({written} in {arguments.duration} s, over {arguments.packages:,}): "
        f"{change.get('hit', 0) / looked_up:.1%} of {looked_up:,.0f} reads "
        f"({change.get('miss', 0):,.0f} misses, {change.get('bypass', 0):,.0f} bypasses); "
        f"{reads.rps:,.0f} req/s, p99 {reads.p99_ms:.1f} ms"
    )


def _token(dsn: str) -> str:
    executable = Path(sys.executable).parent / "packages-api"
    made = subprocess.run(  # noqa: S603
        [str(executable), "tokens", "create", f"bench-{uuid.uuid4().hex[:6]}", "--scope", "write"],
        env=os.environ | {"DATABASE_URL": dsn},
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


STALE_AFTER = 0.1  # the bound: 100 ms after the write was acknowledged
WRITES = 50


def staleness_across_processes(
    arguments: argparse.Namespace,
    dsn: str,
    database: dict[str, str],
    details: list[str],
    workdir: Path,
) -> str:
    """A write through one `serve` process, then reads through another (both caching):
    stale answers 100 ms after the acknowledgement, and how long the other took."""
    first, second = SERVICE_PORT, SERVICE_PORT + 10
    environment = database | {"CACHE_ENABLED": "true"}
    headers = {"Authorization": f"Bearer {_token(dsn)}"}
    stale, delays = 0, []
    with (
        started(
            service_command(1, first),
            environment,
            f"http://127.0.0.1:{first}/readyz",
            workdir / "w1.log",
        ),
        started(
            service_command(1, second),
            environment,
            f"http://127.0.0.1:{second}/readyz",
            workdir / "w2.log",
        ),
        httpx.Client(base_url=f"http://127.0.0.1:{first}", timeout=10) as writer,
        httpx.Client(base_url=f"http://127.0.0.1:{second}", timeout=10) as reader,
    ):
        for number, path in enumerate(details[:WRITES]):
            reader.get(path)
            held = reader.get(path)
            assert held.headers.get("x-cache") == "hit", held.headers
            title = f"Bench {number} {uuid.uuid4().hex[:6]}"
            patched = writer.patch(path, json={"title": title}, headers=headers)
            patched.raise_for_status()
            acknowledged = time.monotonic()
            while reader.get(path).json()["title"] != title:
                if time.monotonic() - acknowledged > 5:
                    break
            delays.append(time.monotonic() - acknowledged)
            # The bound itself: a fresh write, then one read 100 ms after it.
            title += " again"
            writer.patch(path, json={"title": title}, headers=headers).raise_for_status()
            time.sleep(STALE_AFTER)
            if reader.get(path).json()["title"] != title:
                stale += 1
    return (
        f"write through one process, reads through another ({WRITES} writes): {stale} stale "
        f"answers {STALE_AFTER * 1000:.0f} ms after the acknowledgement; the other process "
        f"answered the new title after {statistics.median(delays) * 1000:.1f} ms (median), "
        f"{max(delays) * 1000:.1f} ms (max), the read that found it included"
    )


def bench(arguments: argparse.Namespace, dsn: str, workdir: Path) -> None:
    paths = asyncio.run(sample_paths(dsn, arguments.packages))
    scenarios = [
        Scenario("list, page 1", ["/api/v4/packages/"], ["/api/v4/packages/"]),
        Scenario("list, offset 4,000", ["/api/v4/packages/?offset=4000"])
        if arguments.packages > 4020
        else Scenario("list, offset 4,000", []),
        Scenario("list, offset 500,000", ["/api/v4/packages/?offset=500000"])
        if arguments.packages > 500_020
        else Scenario("list, offset 500,000", []),
        Scenario(f"list by cursor, ~{CURSOR_DEPTH:,} deep", []),
        Scenario("detail by id", paths["ids"], paths["ids"]),
        Scenario("detail by slug", paths["slugs"], paths["slugs"]),
        Scenario("grid detail (with its packages)", paths["grids"]),
        Scenario("list, category filter, -repo_watchers", paths["filtered"]),
        Scenario("search", paths["search"]),
    ]
    scenarios[1].baseline = scenarios[1].service
    scenarios[2].baseline = scenarios[2].service
    if arguments.scenarios:
        # Only the rows asked for (by a word of their name): the others are left empty.
        for scenario in scenarios:
            if not any(word in scenario.name for word in arguments.scenarios):
                scenario.service, scenario.baseline = [], None
    database = {"DATABASE_URL": dsn, "REFRESH_ENABLED": "false", "MIGRATE_ON_START": "false"}
    pool = Settings(database_url=dsn)
    baseline_env = {
        "BASELINE_DATABASE_URL": dsn,
        "BASELINE_POOL_SIZE": str(pool.db_pool_size + pool.db_max_overflow),
    }
    results = {scenario.name: Result() for scenario in scenarios}
    service_url = f"http://127.0.0.1:{SERVICE_PORT}"
    baseline_url = f"http://127.0.0.1:{BASELINE_PORT}"
    floor_url = f"http://127.0.0.1:{FLOOR_PORT}"
    rss: dict[int, float] = {}
    with ExitStack() as servers:
        baseline_pid = servers.enter_context(
            started(
                baseline_command(),
                baseline_env,
                f"{baseline_url}/api/v4/packages/",
                workdir / "b.log",
            )
        )
        floor_pid = None
        if arguments.floor:
            # The baseline's pool and database: only the framework around them differs.
            floor_pid = servers.enter_context(
                started(
                    floor_command(),
                    baseline_env,
                    f"{floor_url}/api/v4/packages/",
                    workdir / "f.log",
                )
            )
        configs = [Config(w, cache) for w in arguments.workers for cache in arguments.cache]
        for config in configs:
            target, workers = config.target, config.workers
            environment = database | {"CACHE_ENABLED": "true" if config.cache else "false"}
            with started(
                service_command(workers), environment, f"{service_url}/readyz", workdir / "s.log"
            ) as pid:
                cursor = scenarios[3]
                if config == configs[0] and (
                    not arguments.scenarios
                    or any(word in cursor.name for word in arguments.scenarios)
                ):
                    found, why = cursor_paths(service_url, CURSOR_DEPTH)
                    cursor.service, cursor.note = found or [], why
                    if found:
                        cursor.baseline, _ = cursor_paths(baseline_url, CURSOR_DEPTH)
                for scenario in scenarios:
                    if not scenario.service:
                        continue
                    pairs = [(target, service_url, scenario.service, pid)]
                    if scenario.baseline and config == configs[0]:
                        pairs.append(("baseline", baseline_url, scenario.baseline, baseline_pid))
                        if floor_pid is not None:  # the baseline's paths: the same answers
                            pairs.append(("floor", floor_url, scenario.baseline, floor_pid))
                    if config.cache:
                        fill(service_url, scenario.service)
                    for _, url, where, server in pairs:  # warm up: pools, caches, JITs
                        wrk(url, where, 2, arguments.connections, workdir, server)
                    for _ in range(arguments.rounds):
                        for name, url, where, server in pairs:
                            run = wrk(
                                url,
                                where,
                                arguments.duration,
                                arguments.connections,
                                workdir,
                                server,
                            )
                            results[scenario.name].runs.setdefault(name, []).append(run)
                            settle(dsn)
                    base = results[scenario.name].median("baseline")
                    if base is not None and config == configs[0]:
                        print(
                            f"  {scenario.name} (baseline): {base.rps:,.0f} req/s, p50 "
                            f"{base.p50_ms:.1f} ms, p99 {base.p99_ms:.1f} ms, "
                            f"{base.failures} failed",
                            flush=True,
                        )
                    ours = results[scenario.name].median(target)
                    assert ours is not None
                    print(
                        f"  {scenario.name} ({config.label}): {ours.rps:,.0f} req/s, "
                        f"p50 {ours.p50_ms:.1f} ms, p99 {ours.p99_ms:.1f} ms, "
                        f"CPU {ours.cpu_ms:.2f} ms/request",
                        flush=True,
                    )
                rss[config.label] = peak_rss_mb(pid)
        if True in arguments.cache:
            hits = hit_ratio_under_writes(arguments, dsn, database, paths["ids"], workdir)
            print(f"  {hits}", flush=True)
            stale = staleness_across_processes(arguments, dsn, database, paths["ids"], workdir)
            print(f"  {stale}", flush=True)
    print()
    print(
        f"{arguments.packages:,} packages, {arguments.connections} connections, "
        f"wrk 2 threads, {arguments.duration:g} s per run, medians of {arguments.rounds} "
        "runs in alternation; baseline: bench/baseline.py, 1 worker"
        + ("; floor: bench/fastapi_floor.py, 1 worker" if arguments.floor else "")
    )
    print()
    print(table(scenarios, results, configs, floor=arguments.floor))
    print()
    if True in arguments.cache:
        print(hits)
        print(stale)
        print()
    for label, peak in rss.items():
        print(f"{label}: peak RSS per worker {peak:.0f} MB")
    print(f"machine: {machine()}")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="Seconds per wrk run.")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--workers",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1],
        help="Service worker counts to measure, comma-separated (e.g. 1,2).",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="Service/baseline(/floor) rounds per row."
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="A PostgreSQL server to create the benchmark database on.",
    )
    parser.add_argument(
        "--scenarios",
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        default=[],
        help="Only the rows whose name contains one of these, comma-separated "
        "(e.g. 'page 1,offset,detail by id').",
    )
    parser.add_argument(
        "--cache",
        type=lambda text: [part.strip() == "on" for part in text.split(",") if part.strip()],
        default=[False, True],
        help="Run the service with its read cache off, on, or both (default: off,on).",
    )
    parser.add_argument(
        "--write-rate",
        type=float,
        default=12.0,
        help="Packages a second the writer updates during the hit-ratio run (default 12: a "
        "refresher keeping 1,000,000 packages fresh daily).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument(
        "--reuse", action="store_true", help="Use a kept database of the same size; implies --keep."
    )
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="Leave out the FastAPI floor (bench/fastapi_floor.py) and its columns.",
    )
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench/api.py needs wrk, the HTTP load generator: `sudo apt-get install wrk` "
            "(Debian/Ubuntu) or `brew install wrk` (macOS)."
        )
    keep = arguments.keep or arguments.reuse
    name = f"packages_api_bench_{arguments.packages}"
    if not keep:
        name += f"_{uuid.uuid4().hex[:6]}"
    server = arguments.database_url
    dsn = asyncio.run(prepare(server, name, arguments.packages, arguments.reuse))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-api-") as workdir:
            bench(arguments, dsn, Path(workdir))
    finally:
        if not keep:
            asyncio.run(admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            print(f"kept database {name} (--reuse to use it again)")


if __name__ == "__main__":
    main()
