"""Contract fuzzing: schemathesis against a live `packages-api serve`, on SQLite and PostgreSQL.

For each dialect: a throwaway database (a SQLite file; a PostgreSQL database created on
TEST_DATABASE_URL's server and dropped afterwards), migrated, an admin token made with the
CLI (`packages-api tokens create`), `serve` on a free loopback port, a few realistic records
written through the API, then `schemathesis run --checks all` with that token, so write
routes are exercised for real and not only refused with 401: every phase on SQLite, the
coverage phase on PostgreSQL (PHASES says why). Exits non-zero on any failure.

Run locally (what `.ci/run` does):

    uv run python tests/contract/run_schemathesis.py                 # both dialects
    uv run python tests/contract/run_schemathesis.py --all-phases    # every phase on both
    uv run python tests/contract/run_schemathesis.py --dialect sqlite --max-examples 20

A separate step rather than a pytest test: it drives real processes (CLI, server,
schemathesis' own CLI and report), its figures print per dialect, and it keeps schemathesis'
warnings out of the suite's `filterwarnings = error`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
# Nothing listens on port 9 (discard): upstream calls a refresh might make fail at once.
NOWHERE = "http://127.0.0.1:9"
WEBHOOK_SECRET = "contract-secret"  # a throwaway server's, known to the hooks
ALL_PHASES = "examples,coverage,fuzzing,stateful"
# Every phase on SQLite. On PostgreSQL the coverage phase only, for every operation: its
# deterministic boundary values (each limit, just inside and just past it: the largest
# integers, the longest strings; wrong types, missing fields) are where the databases could
# answer differently (int8 range, column lengths, checks). Examples, random fuzzing and
# stateful links test the HTTP contract, the same code on either database; NUL, the one
# character PostgreSQL cannot store, is refused before any query (app/schemas/common.py,
# app/repositories/base.py), and pytest runs every database test on both
# (tests/test_hostile_input.py). Measured: PostgreSQL's run took 64 s with every phase,
# 32 s with coverage only (51 operations, 1,611 cases).
PHASES = {"sqlite": ALL_PHASES, "postgresql": "coverage"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def database(dialect: str, workdir: Path) -> Iterator[str]:
    """A new, empty database of `dialect`; a PostgreSQL one is dropped afterwards."""
    if dialect == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'contract.db'}"
        return
    server = os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER
    name = f"packages_api_contract_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        # Our own database only: the server is stopped by now, so nobody is connected.
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _environment(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REFRESH_ENABLED="false",
        LOG_LEVEL="error",
        LOG_FORMAT="text",
        METRICS_ENABLED="true",
        # Every upstream points nowhere: a refresh the fuzzer asks for fails fast, offline.
        GITHUB_API_URL=NOWHERE,
        GITHUB_GRAPHQL_URL=NOWHERE + "/graphql",
        GITLAB_URL=NOWHERE,
        FORGEJO_INSTANCES=f"codeberg.org={NOWHERE}",
        BITBUCKET_API_URL=NOWHERE,
        PYPI_URL=NOWHERE,
        UPSTREAM_RETRY_ATTEMPTS="1",
        UPSTREAM_TIMEOUT="2",
        GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET,
        # Subscriptions point at loopback (tests/contract/hooks.py); nothing is sent.
        WEBHOOK_ALLOW_PRIVATE="true",
        WEBHOOKS_ENABLED="false",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
        [str(BIN / "packages-api"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"packages-api {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


@contextmanager
def served(env: dict[str, str], port: int) -> Iterator[str]:
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(  # noqa: S603
        [str(BIN / "packages-api"), "serve", "--no-migrate", "--port", str(port)],
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"packages-api serve exited with {process.returncode}")
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("packages-api serve did not become ready in 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def seed(base: str, token: str) -> None:
    """Realistic records, through the API: what reads and stateful links start from.

    The packages are djangopackages.org's own (the seed records' values where we have
    them), so ids, slugs and hyperlinks look like production's."""
    headers = {"Authorization": f"Bearer {token}"}
    api = base + "/api/v4"

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(api + path, json=body, headers=headers, timeout=30)
        if answer.status_code != 201:
            raise SystemExit(f"seeding POST {path} {body}: {answer.status_code} {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    post("/categories/", {"title": "App", "slug": "apps", "title_plural": "Apps"})
    post("/categories/", {"title": "Framework", "slug": "frameworks", "show_pypi": False})
    packages = [
        ("django SHOP", "apps", "https://github.com/awesto/django-shop", "django-shop"),
        ("Oscar", "apps", "https://github.com/django-oscar/django-oscar", "django-oscar"),
        ("Saleor", "frameworks", "https://gitlab.com/saleor/saleor", ""),
        ("Wagtail", "frameworks", "https://codeberg.org/wagtail/wagtail", "wagtail"),
        ("django-cms", "apps", "https://bitbucket.org/divio/django-cms", "django-cms"),
    ]
    for title, category, repo_url, pypi in packages:
        post(
            "/packages/",
            {"title": title, "category": category, "repo_url": repo_url, "pypi_url": pypi},
        )
    post("/grids/", {"title": "Shops", "packages": ["django-shop", "oscar", "saleor"]})
    post("/grids/", {"title": "CMS", "description": "Content management", "packages": []})
    feature = post("/grids/shops/features/", {"title": "Multi-currency"})
    cell = httpx.put(
        f"{api}/grids/shops/features/{feature['id']}/elements/django-shop/",
        json={"text": "yes"},
        headers=headers,
        timeout=30,
    )
    if cell.status_code not in {200, 201}:
        raise SystemExit(f"seeding a grid cell: {cell.status_code} {cell.text}")


def fuzz(base: str, token: str, workdir: Path, phases: str, args: argparse.Namespace) -> int:
    command = [
        str(BIN / "schemathesis"),
        "run",
        base + "/openapi.json",
        "--url",
        base,
        "--checks",
        "all",
        "--phases",
        phases,
        "--header",
        f"Authorization: Bearer {token}",
        *(["--seed", str(args.seed)] if args.seed is not None else ["--generation-deterministic"]),
        "--max-examples",
        str(args.max_examples),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(workdir / "report"),
    ]
    env = dict(os.environ)
    env.update(
        # tests/contract/hooks.py: live references and signed webhooks (see there why).
        SCHEMATHESIS_HOOKS="tests.contract.hooks",
        PYTHONPATH=str(ROOT),
        CONTRACT_BASE_URL=base,
        CONTRACT_TOKEN=token,
        CONTRACT_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    # In the run's own directory: schemathesis keeps a cache of past failures in
    # ./.schemathesis and replays them, which would make runs depend on earlier ones.
    return subprocess.run(command, cwd=workdir, env=env, check=False).returncode  # noqa: S603


def run(dialect: str, args: argparse.Namespace) -> tuple[int, float]:
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="contract-") as tmp,
        database(dialect, Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        env = _environment(url)
        _cli(env, "migrate")
        token = _cli(env, "tokens", "create", "contract", "--scope", "admin")
        with served(env, _free_port()) as base:
            seed(base, token)
            phases = ALL_PHASES if args.all_phases else PHASES[dialect]
            print(f"== schemathesis on {dialect} ({base}), phases {phases}", flush=True)
            code = fuzz(base, token, workdir, phases, args)
    return code, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument(
        "--all-phases",
        action="store_true",
        help=f"every phase on every dialect ({ALL_PHASES}), not only SQLite",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="explore: random generation from this seed (default: deterministic generation)",
    )
    args = parser.parse_args()
    results = {dialect: run(dialect, args) for dialect in args.dialect or ["sqlite", "postgresql"]}
    for dialect, (code, seconds) in results.items():
        print(f"schemathesis {dialect}: {'ok' if code == 0 else 'FAILED'} in {seconds:.0f} s")
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
