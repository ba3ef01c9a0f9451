"""Soak test: ten minutes of mixed reads and writes from wrk, with the refresher working.

    uv run python bench/soak.py                            # 600 s, PostgreSQL, 24 connections
    uv run python bench/soak.py --duration 60 --window 15  # a smoke run
    uv run python bench/soak.py --database sqlite --workers 2

Seeds a throwaway database (PostgreSQL: created on the local server and dropped after;
`--database-url` to use another, empty one; or a temporary SQLite file) with --packages
packages, grids, features and cells through the importer's fast path, starts the fake
GitHub and PyPI (tests/fakes) in a process of their own, and runs `packages-api serve` as
a subprocess with the refresher on (a few seconds between runs, packages stale after a
minute or so: it fetches and writes all the time, against upstreams that keep changing).
Then wrk (bench/soak.lua) drives it in consecutive windows (10 x 60 s by default): about
85% reads of every kind, 15% writes (packages created, edited, put in and out of grids,
deleted; cells; edits of rows the refresher writes too; on-demand refreshes), with a write
token made by `packages-api tokens create`. Meanwhile the server's RSS (all its processes)
is sampled every few seconds.

Prints a markdown table per window (requests/s, p50/p99, errors, RSS, refresher progress,
load average), latency per kind of request, and the verdict. Exits 1 when any request
failed (a status outside 2xx/3xx, or a socket error or timeout) or when RSS grew by
--max-rss-growth percent or more from the end of the first window (the warm-up) to the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.columns import utcnow
from app.config import Settings
from app.db import create_engine
from app.migrate import upgrade
from app.models import Package
from bench import soak_world

POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


@dataclass
class Window:
    number: int
    seconds: float
    wrk: dict[str, Any]
    refreshed: dict[str, float]
    rss_mb: float
    load: float
    cpu_seconds: float  # the server's, during the window

    @property
    def requests(self) -> int:
        return int(self.wrk["requests"])

    @property
    def failures(self) -> int:
        errors = self.wrk["errors"]
        return int(sum(errors[k] for k in ("connect", "read", "write", "status", "timeout")))


@dataclass
class RssSampler:
    """Samples the resident memory of a process and its descendants (uvicorn's workers)."""

    pid: int
    every: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, MB)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = tree_rss_mb(self.pid)
            if rss:
                self.samples.append((time.monotonic(), rss))
            self._stop.wait(self.every)

    def at(self, moment: float) -> float:
        """The last sample taken at or before `moment`."""
        before = [mb for when, mb in self.samples if when <= moment]
        return before[-1] if before else self.samples[0][1]


def tree_pids(root: int) -> set[int]:
    """`root` and its descendants (uvicorn's worker processes, with --workers > 1)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    return tree


def tree_rss_mb(root: int) -> float:
    total_kb = 0
    for pid in tree_pids(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total_kb += int(match.group(1)) if match else 0
    return total_kb / 1024


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) the server's processes have used so far."""
    ticks = 0
    for pid in tree_pids(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (loopback)
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def refreshed_so_far(base: str) -> dict[str, float]:
    """packages_api_refresh_packages_total by outcome, from /metrics."""
    _, body = get(f"{base}/metrics")
    counts: dict[str, float] = {}
    pattern = r'^packages_api_refresh_packages_total\{outcome="(\w+)"\} ([0-9.e+]+)$'
    for outcome, value in re.findall(pattern, body, re.MULTILINE):
        counts[outcome] = counts.get(outcome, 0) + float(value)
    return counts


async def admin(statement: str) -> None:
    settings = Settings(_env_file=None, database_url=POSTGRES_SERVER)
    engine = create_engine(settings, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def fetched_since(url: str, since: dt.datetime) -> tuple[int, int]:
    """Packages fetched since `since`, and packages whose last refresh failed."""
    engine = create_engine(Settings(_env_file=None, database_url=url))
    try:
        async with engine.connect() as connection:
            fetched = await connection.execute(
                select(func.count()).where(Package.last_fetched >= since)
            )
            failing = await connection.execute(
                select(func.count()).where(Package.refresh_error != "")
            )
            return int(fetched.scalar_one()), int(failing.scalar_one())
    finally:
        await engine.dispose()


def run_wrk(
    args: argparse.Namespace, base: str, env: dict[str, str], seconds: float
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**env, "SOAK_OUT": out.name}
        command = [
            args.wrk,
            f"--threads={args.threads}",
            f"--connections={args.connections}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={args.timeout}s",
            f"--script={HERE / 'soak.lua'}",
            "--latency",
            f"{base}/api/v4/",
        ]
        finished = subprocess.run(  # noqa: S603 (wrk, our own script)
            command, env=env, capture_output=True, text=True, check=False
        )
        if finished.returncode != 0 or not Path(out.name).stat().st_size:
            raise RuntimeError(
                f"wrk failed ({finished.returncode}): {finished.stdout}{finished.stderr}".strip()
            )
        result: dict[str, Any] = json.loads(Path(out.name).read_text())
        return result


def start_server(
    args: argparse.Namespace, workdir: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    log = (workdir / "server.log").open("wb")
    command = [
        str(BIN / "packages-api"),
        "serve",
        f"--port={args.port}",
        f"--workers={args.workers}",
    ]
    # Its own session: a Ctrl+C in this terminal reaches us, and we stop it gracefully.
    return subprocess.Popen(  # noqa: S603 (our own command)
        command, env=env, cwd=workdir, stdout=log, stderr=log, start_new_session=True
    )


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}; see its log")
        try:
            if get(f"{base}/readyz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server was not ready in time")


def server_log_problems(path: Path) -> list[str]:
    problems = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            if "Traceback" in line or "ERROR" in line:
                problems.append(line)
            continue
        if record.get("level") in {"ERROR", "CRITICAL"}:
            problems.append(f"{record.get('logger')}: {record.get('message')}")
    return problems


def percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def report(
    args: argparse.Namespace,
    windows: list[Window],
    sampler: RssSampler,
    baseline_at: float,
    refresh: tuple[int, int],
    log_problems: list[str],
    loads: list[float],
) -> bool:
    requests = sum(w.requests for w in windows)
    seconds = sum(w.seconds for w in windows)
    failures = sum(w.failures for w in windows)
    status_errors = sum(int(w.wrk["errors"]["status"]) for w in windows)
    socket_errors = failures - status_errors
    baseline = sampler.at(baseline_at)
    final = sampler.samples[-1][1]
    peak = max(mb for _, mb in sampler.samples)
    growth = percent(final - baseline, baseline)
    print()
    print(
        "| window | requests | req/s | p50 ms | p99 ms | max ms | errors | RSS MB "
        "| refreshed | server CPU | load |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for w in windows:
        lat = w.wrk["latency_ms"]
        refreshed = int(sum(w.refreshed.values()))
        print(
            f"| {w.number} | {w.requests} | {w.requests / w.seconds:.0f} | {lat['p50']:.1f} | "
            f"{lat['p99']:.1f} | {lat['max']:.0f} | {w.failures} | {w.rss_mb:.0f} | {refreshed} | "
            f"{percent(w.cpu_seconds, w.seconds):.0f}% | {w.load:.1f} |"
        )
    print()
    print("| request | count | share | p50 ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    per_op: dict[str, list[tuple[int, float, float, float]]] = {}
    for w in windows:
        for op, figures in w.wrk["ops"].items():
            per_op.setdefault(op, []).append(
                (int(figures["count"]), figures["p50_ms"], figures["p99_ms"], figures["max_ms"])
            )
    for op, rows in sorted(per_op.items(), key=lambda item: -sum(r[0] for r in item[1])):
        count = sum(r[0] for r in rows)
        # Per-window percentiles, weighted by count: close enough to the whole run's.
        p50 = sum(r[0] * r[1] for r in rows) / count
        p99 = max(r[2] for r in rows)
        print(
            f"| {op} | {count} | {percent(count, requests):.1f}% | {p50:.1f} | "
            f"{p99:.1f} (worst window) | {max(r[3] for r in rows):.0f} |"
        )
    statuses: dict[str, int] = {}
    for w in windows:
        for key, count in w.wrk["statuses"].items():
            statuses[key] = statuses.get(key, 0) + int(count)
    bad = {k: v for k, v in statuses.items() if not re.search(r" [23]\d\d$", k)}
    outcomes = {k: int(sum(w.refreshed.get(k, 0) for w in windows)) for k in _outcomes(windows)}
    print()
    print(
        f"- duration: {seconds:.0f} s in {len(windows)} windows, {args.connections} connections, "
        f"{args.threads} wrk threads, {args.workers} worker(s), {args.database}"
    )
    print(
        f"- requests: {requests} ({requests / seconds:.0f}/s); error rate "
        f"{percent(failures, requests):.3f}% ({status_errors} non-2xx/3xx, {socket_errors} socket "
        f"errors or timeouts)" + (f"; by request and status: {bad}" if bad else "")
    )
    print(
        f"- RSS: {baseline:.0f} MB after warm-up (end of window 1), {final:.0f} MB at the end "
        f"({growth:+.1f}%), peak {peak:.0f} MB; {len(sampler.samples)} samples"
    )
    print(
        f"- refresher: {outcomes} packages finished during the soak (from /metrics); "
        f"{refresh[0]} packages fetched since the start, {refresh[1]} with a refresh error"
    )
    cpu = sum(w.cpu_seconds for w in windows)
    p99s = sorted(float(w.wrk["latency_ms"]["p99"]) for w in windows)
    print(
        f"- latency: p99 {p99s[len(p99s) // 2]:.0f} ms in the median window, {p99s[-1]:.0f} ms "
        f"in the worst; server CPU {1000 * cpu / requests:.1f} ms per request "
        f"({percent(cpu, seconds):.0f}% of a core, the refresher's work included)"
    )
    print(
        f"- load average (1 min) during the windows: min {min(loads):.1f}, max {max(loads):.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    print(
        f"- server log: {len(log_problems)} error lines"
        + ("; first: " + " | ".join(log_problems[:3]) if log_problems else "")
    )
    ok = failures == 0 and growth < args.max_rss_growth
    print(
        f"- verdict: {'PASS' if ok else 'FAIL'} (errors must be 0, RSS growth < "
        f"{args.max_rss_growth:.0f}%)"
    )
    return ok


def _outcomes(windows: list[Window]) -> list[str]:
    return sorted({k for w in windows for k in w.refreshed})


def soak(args: argparse.Namespace, bases: tuple[str, str], workdir: Path, url: str) -> bool:
    github_base, pypi_base = bases
    settings = Settings(_env_file=None, database_url=url)
    upgrade(settings)
    asyncio.run(soak_world.seed(settings, args.packages))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "DATABASE_URL": url,
        "MIGRATE_ON_START": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": args.log_level,
        "REFRESH_ENABLED": "true",
        "REFRESH_INTERVAL": str(args.refresh_interval),
        "REFRESH_STALE_HOURS": str(args.refresh_stale_hours),
        "GITHUB_API_URL": github_base,
        "GITHUB_GRAPHQL_URL": f"{github_base}/graphql",
        "GITHUB_TOKEN": "soak-token",  # the fake accepts any
        "PYPI_URL": pypi_base,
    }
    made = subprocess.run(  # noqa: S603 (our own command)
        [str(BIN / "packages-api"), "tokens", "create", "soak", "--scope", "write"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip()
    base = f"http://127.0.0.1:{args.port}"
    server = start_server(args, workdir, env)
    sampler = RssSampler(server.pid, args.rss_every)
    windows: list[Window] = []
    loads: list[float] = []
    started = utcnow()
    try:
        wait_ready(base, server)
        sampler.start()
        print(
            f"serving on {base} (pid {server.pid}); {args.packages} packages; "
            f"{args.duration:.0f} s of wrk in windows of {args.window:.0f} s",
            flush=True,
        )
        run = secrets.token_hex(2)
        wrk_env = {
            **os.environ,
            "SOAK_TOKEN": token,
            "SOAK_PACKAGES": str(args.packages),
            "SOAK_WRITE_SHARE": str(args.write_share),
            "SOAK_CATEGORIES": str(soak_world.CATEGORIES),
            "SOAK_GRIDS": str(soak_world.GRIDS),
            "SOAK_GRID_MEMBERS": str(soak_world.GRID_MEMBERS),
            "SOAK_GRID_FEATURES": str(soak_world.GRID_FEATURES),
        }
        count = max(1, round(args.duration / args.window))
        baseline_at = 0.0
        for number in range(1, count + 1):
            before = refreshed_so_far(base)
            cpu_before = tree_cpu_seconds(server.pid)
            began = time.monotonic()
            result = run_wrk(
                args, base, {**wrk_env, "SOAK_TAG": f"{run}w{number}"}, args.duration / count
            )
            elapsed = time.monotonic() - began
            after = refreshed_so_far(base)
            cpu = tree_cpu_seconds(server.pid) - cpu_before
            if number == 1:
                baseline_at = time.monotonic()
            rss = tree_rss_mb(server.pid)
            sampler.samples.append((time.monotonic(), rss))
            load = os.getloadavg()[0]
            loads.append(load)
            delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            window = Window(number, float(result["duration_s"]), result, delta, rss, load, cpu)
            windows.append(window)
            lat = result["latency_ms"]
            print(
                f"window {number}/{count}: {window.requests} requests in {elapsed:.0f} s, "
                f"p99 {lat['p99']:.0f} ms, {window.failures} errors, RSS {rss:.0f} MB, "
                f"refreshed {int(sum(delta.values()))}, load {load:.1f}",
                flush=True,
            )
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode} mid-soak")
    finally:
        sampler.stop()
        if server.poll() is None:
            os.kill(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    refresh = asyncio.run(fetched_since(url, started))
    problems = server_log_problems(workdir / "server.log")
    if server.returncode != 0:
        problems.append(f"the server exited with {server.returncode} on SIGTERM")
    ok = report(args, windows, sampler, baseline_at, refresh, problems, loads)
    if args.keep_log:
        shutil.copy(workdir / "server.log", args.keep_log)
    return ok and not problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load in all")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=int, default=10, help="wrk's per-request timeout, s")
    parser.add_argument("--write-share", type=float, default=0.15)
    parser.add_argument("--packages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--database-url", help="an empty database to use (not dropped)")
    parser.add_argument("--latency", type=float, default=0.02, help="fake upstream seconds")
    parser.add_argument("--refresh-interval", type=float, default=5.0)
    parser.add_argument("--refresh-stale-hours", type=float, default=0.02)
    parser.add_argument("--rss-every", type=float, default=5.0)
    parser.add_argument("--max-rss-growth", type=float, default=10.0, help="percent")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--keep-log", help="copy the server's log here")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if not Path(args.wrk).exists():
        sys.exit("wrk is not installed: apt-get install wrk")
    args.port = args.port or free_port()
    if args.database_url:
        args.database = make_url(args.database_url).get_backend_name()
    ours, theirs = multiprocessing.Pipe()
    fakes = multiprocessing.get_context("spawn").Process(
        target=soak_world.serve_fakes, args=(args.packages, args.latency, theirs), daemon=True
    )
    fakes.start()
    database_name = None
    ok = False
    try:
        bases = ours.recv()
        with tempfile.TemporaryDirectory() as directory:
            workdir = Path(directory)
            if args.database_url:
                url = args.database_url
            elif args.database == "sqlite":
                url = f"sqlite+aiosqlite:///{workdir / 'soak.db'}"
            else:
                database_name = f"bench_soak_{secrets.token_hex(4)}"
                asyncio.run(admin(f'CREATE DATABASE "{database_name}"'))
                url = POSTGRES_SERVER.rsplit("/", 1)[0] + f"/{database_name}"
            ok = soak(args, bases, workdir, url)
    finally:
        if database_name:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)'))
        ours.send("stop")
        fakes.join(timeout=10)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
