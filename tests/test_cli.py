"""The `packages-api` command, run as a user runs it: a process of its own, with its arguments,
environment, directory and streams (forked from the worker's fork server, tests/cli_process.py)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, event, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

from app.cli import build_cli
from app.columns import Base
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.migrate import current_revision, head_revision, include_name
from app.services.tokens import TokenService
from tests import cli_process
from tests.conftest import Databases

APP_TABLES = set(Base.metadata.tables)
# Hang detectors, not speed targets. A cold start imports the app and may migrate: 2-5 s
# alone, but over 30 s was seen for `--workers 2` (three processes importing the app) on a
# 2-core machine busy with other work and this suite's parallel workers.
STARTUP_BOUND = 120.0
SHUTDOWN_BOUND = 30.0
COMMAND_BOUND = 120.0


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, **extra}


async def packages_api(
    database_url: str, *args: str, cwd: Path | None, stdin: str | None = None, **env: str
) -> Result:
    """`packages-api ARGS` on the database at `database_url`, optionally fed `stdin`. Give it a
    directory of the test's own (`cwd`), so that no developer's .env file takes part."""
    process = await cli_process.start(
        *args,
        stdin=None if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(database_url, **env),
        cwd=cwd,
    )
    fed = None if stdin is None else stdin.encode()
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(fed), COMMAND_BOUND)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


async def _look(url: str, query: Any) -> Any:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            return await query(connection)
    finally:
        await engine.dispose()


async def _schema(url: str) -> tuple[set[str], str | None]:
    """The model tables in the database (search's own are left out) and the revision."""

    async def query(connection: AsyncConnection) -> tuple[set[str], str | None]:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        tables = {name for name in names if include_name(name, "table", {})}
        return tables, await current_revision(connection)

    result: tuple[set[str], str | None] = await _look(url, query)
    return result


async def _every_value(url: str) -> list[str]:
    """Every value in every table, as text."""

    async def query(connection: AsyncConnection) -> list[str]:
        metadata = MetaData()
        await connection.run_sync(metadata.reflect)
        values: list[str] = []
        for table in metadata.tables.values():
            for row in await connection.execute(select(table)):
                values.extend(str(value) for value in row)
        return values

    result: list[str] = await _look(url, query)
    return result


async def _tokens(url: str) -> list[tuple[str, str, str]]:
    async def query(connection: AsyncConnection) -> list[tuple[str, str, str]]:
        rows = await connection.execute(
            text("SELECT name, scope, digest FROM api_tokens ORDER BY id")
        )
        return [(name, scope, digest) for name, scope, digest in rows]

    result: list[tuple[str, str, str]] = await _look(url, query)
    return result


async def given_tokens(
    url: str, *names_and_scopes: tuple[str, str], revoked: tuple[str, ...] = ()
) -> list[str]:
    """Tokens made (and some revoked) in-process, for tests of something else: each
    `packages-api` start costs 1.5 s of CPU, and `tokens create` and `tokens revoke` have
    tests of their own here."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            service = TokenService(session)
            plain = [(await service.create(name, scope))[1] for name, scope in names_and_scopes]
            for name in revoked:
                await service.revoke(name)
            return plain
    finally:
        await engine.dispose()


def _listed(stdout: str) -> list[dict[str, str]]:
    header, *rows = stdout.splitlines()
    columns = header.split("\t")
    assert columns == ["name", "scope", "created", "last_used", "state"]
    return [dict(zip(columns, row.split("\t"), strict=True)) for row in rows]


async def _create_category(url: str, token: str, title: str) -> httpx.Response:
    """A write through the API, on an app serving the same database."""
    app = create_app(Settings(database_url=url))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        return await client.post(
            "/api/v4/categories/",
            json={"title": title},
            headers={"Authorization": f"Bearer {token}"},
        )


# tokens create


async def test_tokens_create_prints_only_the_token_and_stores_only_its_hash(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()

    result = await packages_api(url, "tokens", "create", "ci", "--scope", "write", cwd=tmp_path)

    assert result.code == 0, result.stderr
    # `TOKEN=$(packages-api tokens create ci --scope write)` gets the token and nothing else.
    assert result.stdout.endswith("\n")
    token = result.stdout.removesuffix("\n")
    assert token
    assert token.split() == [token]
    assert token not in result.stderr
    [(name, scope, digest)] = await _tokens(url)
    assert (name, scope) == ("ci", "write")
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert not [value for value in await _every_value(url) if token in value]


async def test_a_duplicate_token_name_is_refused(databases: Databases, tmp_path: Path) -> None:
    url = await databases.fresh()
    [first] = await given_tokens(url, ("ci", "write"))

    again = await packages_api(url, "tokens", "create", "ci", "--scope", "admin", cwd=tmp_path)

    assert again.code != 0
    assert again.stdout == ""
    assert again.stderr.strip() == (
        "error: A token named 'ci' already exists (perhaps revoked); choose another name."
    )
    [(_, scope, digest)] = await _tokens(url)
    assert scope == "write"
    assert digest == hashlib.sha256(first.encode()).hexdigest()


async def test_an_unknown_scope_is_refused(databases: Databases, tmp_path: Path) -> None:
    url = await databases.fresh()

    result = await packages_api(url, "tokens", "create", "ci", "--scope", "root", cwd=tmp_path)

    assert result.code != 0
    assert result.stdout == ""
    assert "--scope must be one of: write, admin" in result.stderr
    assert await _tokens(url) == []


async def test_tokens_create_on_a_new_sqlite_file_migrates_it_first(tmp_path: Path) -> None:
    path = tmp_path / "brand-new.db"
    url = f"sqlite+aiosqlite:///{path}"
    assert not path.exists()

    result = await packages_api(url, "tokens", "create", "ci", cwd=tmp_path)

    assert result.code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert await _schema(url) == (APP_TABLES | {"alembic_version"}, head_revision())
    # The default scope is write.
    assert [(name, scope) for name, scope, _ in await _tokens(url)] == [("ci", "write")]


async def test_tokens_create_waits_for_a_write_in_progress_instead_of_failing(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` writing (a refresh, a user's edit) while an operator creates a token: on
    SQLite the command must wait for the write lock, not fail at once with "database is
    locked" (which a transaction that reads before it writes gets from SQLite)."""
    url = await databases.fresh()
    monkeypatch.setattr(
        "app.cli.common.get_settings", lambda: Settings(database_url=url, migrate_on_start=False)
    )
    loop = asyncio.get_running_loop()
    waiting = asyncio.Event()

    def note_immediate(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.strip().upper() == "BEGIN IMMEDIATE":
            # The command asks for the write lock before reading anything (its thread).
            loop.call_soon_threadsafe(waiting.set)

    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            writer = await connection.execution_options(sqlite_write=True)
            await writer.begin()
            await writer.execute(text("UPDATE table_counts SET row_count = row_count"))
            event.listen(Engine, "before_cursor_execute", note_immediate)
            try:
                command = asyncio.create_task(
                    asyncio.to_thread(CliRunner().invoke, build_cli(), ["tokens", "create", "ops"])
                )
                # Hold the lock until the command waits for it, or has given up.
                asks = asyncio.create_task(waiting.wait())
                await asyncio.wait([asks, command], return_when=asyncio.FIRST_COMPLETED)
                asks.cancel()
                await writer.commit()
                result = await command
            finally:
                event.remove(Engine, "before_cursor_execute", note_immediate)
    finally:
        await engine.dispose()

    assert result.exit_code == 0, result.output
    assert [(name, scope) for name, scope, _ in await _tokens(url)] == [("ops", "write")]


# tokens list and revoke


async def test_tokens_list_shows_name_scope_and_state_but_never_the_token(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    created = await given_tokens(
        url, ("ci", "write"), ("ops", "admin"), ("old", "write"), revoked=("old",)
    )

    result = await packages_api(url, "tokens", "list", cwd=tmp_path)

    assert result.code == 0, result.stderr
    listed = _listed(result.stdout)
    assert [(row["name"], row["scope"], row["last_used"]) for row in listed] == [
        ("ci", "write", "never"),
        ("ops", "admin", "never"),
        ("old", "write", "never"),
    ]
    assert [row["state"].split()[0] for row in listed] == ["active", "active", "revoked"]
    for token in created:
        assert token not in result.stdout
        assert token not in result.stderr


async def test_a_revoked_token_can_no_longer_write(databases: Databases, tmp_path: Path) -> None:
    url = await databases.fresh()
    [token] = await given_tokens(url, ("ci", "write"))
    assert (await _create_category(url, token, "Apps")).status_code == 201
    used = _listed((await packages_api(url, "tokens", "list", cwd=tmp_path)).stdout)
    assert used[0]["last_used"] != "never"

    result = await packages_api(url, "tokens", "revoke", "ci", cwd=tmp_path)

    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert "revoked ci" in result.stderr
    refused = await _create_category(url, token, "Frameworks")
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == "unauthorized"
    listed = _listed((await packages_api(url, "tokens", "list", cwd=tmp_path)).stdout)
    assert listed[0]["state"].startswith("revoked ")


async def test_revoking_an_unknown_token_is_refused(databases: Databases, tmp_path: Path) -> None:
    result = await packages_api(await databases.fresh(), "tokens", "revoke", "nope", cwd=tmp_path)

    assert result.code != 0
    assert result.stderr.strip() == "error: No token named 'nope'."


# migrate, and what goes wrong before a command can start


async def test_migrate_creates_the_schema_on_an_empty_database(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.empty()

    result = await packages_api(url, "migrate", cwd=tmp_path)

    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.strip() == f"database at revision {head_revision()}"
    assert await _schema(url) == (APP_TABLES | {"alembic_version"}, head_revision())
    # Running it again is harmless.
    again = await packages_api(url, "migrate", cwd=tmp_path)
    assert again.code == 0, again.stderr
    assert await _schema(url) == (APP_TABLES | {"alembic_version"}, head_revision())


async def test_an_unusable_database_is_one_line_on_stderr(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"

    result = await packages_api(url, "tokens", "list", cwd=tmp_path)

    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: database {url}: unable to open database file\n"


async def test_the_database_password_is_not_echoed(tmp_path: Path) -> None:
    # Nothing listens on port 1, so the connection is refused at once.
    url = "postgresql+asyncpg://someone:hunter2@127.0.0.1:1/packages"

    result = await packages_api(url, "migrate", cwd=tmp_path)

    assert result.code == 1
    assert result.stderr.startswith("error: database postgresql+asyncpg://someone:***@127.0.0.1:1/")
    assert "hunter2" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


async def test_bad_settings_are_named_without_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'packages.db'}"

    result = await packages_api(
        url, "tokens", "list", cwd=tmp_path, TRUSTED_PROXIES="10.0.0.0/8,proxy"
    )

    assert result.code == 1
    assert result.stderr.startswith("error: invalid settings:\n  TRUSTED_PROXIES: ")
    assert "'proxy' does not appear to be an IPv4 or IPv6 network" in result.stderr
    assert "Traceback" not in result.stderr


# serve


@pytest.mark.parametrize(
    "url", ["mysql://u:hunter2@db/x", "postgresql+psycopg://u:hunter2@db/x", "packages.db"]
)
async def test_a_database_url_we_cannot_run_on_is_one_line(tmp_path: Path, url: str) -> None:
    # Not the engine's traceback from deep inside SQLAlchemy, and never the password.
    result = await packages_api(url, "tokens", "list", cwd=tmp_path)

    assert result.code == 1
    assert result.stderr.startswith("error: invalid settings:\n  DATABASE_URL: ")
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: cli_process.ForkedProcess | asyncio.subprocess.Process
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@asynccontextmanager
async def serving(
    database_url: str, tmp_path: Path, *args: str, **env: str
) -> AsyncIterator[Server]:
    """`packages-api serve` on a free port, answering; killed afterwards if still running."""
    port = _free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as output:
        process = await cli_process.start(
            "serve",
            "--port",
            str(port),
            *args,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            env=_env(database_url, **env),
            cwd=tmp_path,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        await _wait_until_answering(server)
        yield server
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _wait_until_answering(server: Server) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_BOUND
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:
        while True:
            if server.process.returncode is not None:
                raise AssertionError(f"serve exited early:\n{server.output()}")
            try:
                await client.get("/api/v4/", timeout=5)
                return
            except httpx.TransportError:
                if loop.time() > deadline:
                    raise AssertionError(
                        f"serve did not answer within {STARTUP_BOUND} s:\n{server.output()}"
                    ) from None
                await asyncio.sleep(0.1)


async def _stop(server: Server, signal_number: int = signal.SIGTERM) -> int:
    server.process.send_signal(signal_number)
    return await asyncio.wait_for(server.process.wait(), SHUTDOWN_BOUND)


async def test_serve_migrates_answers_and_stops_cleanly_on_sigterm(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.empty()

    async with serving(url, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:
            root = await client.get("/api/v4/")
            packages = await client.get("/api/v4/packages/")
        assert await _schema(url) == (APP_TABLES | {"alembic_version"}, head_revision())

        code = await _stop(server)

    assert code == 0, server.output()
    assert root.status_code == 200
    assert root.json() == {
        name: f"{server.base_url}/api/v4/{name}/" for name in ("categories", "grids", "packages")
    }
    assert packages.status_code == 200, packages.text
    assert packages.json()["count"] == 0
    assert "Traceback" not in server.output()


async def test_serve_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'packages.db'}"

    async with serving(url, tmp_path) as server:
        code = await _stop(server, signal.SIGINT)

    assert code == 0, server.output()
    assert "Traceback" not in server.output()


async def test_serve_no_migrate_leaves_an_empty_database_empty(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.empty()

    async with serving(url, tmp_path, "--no-migrate") as server:
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:
            root = await client.get("/api/v4/")
            packages = await client.get("/api/v4/packages/")
        code = await _stop(server)

    assert code == 0, server.output()
    assert await _schema(url) == (set(), None)
    # It serves what needs no database; the rest fails until someone runs `migrate`.
    assert root.status_code == 200
    assert packages.status_code == 500
    assert packages.json()["code"] == "internal_error"


async def test_the_migrate_flag_overrides_migrate_on_start(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'packages.db'}"

    async with serving(url, tmp_path, "--migrate", MIGRATE_ON_START="false") as server:
        code = await _stop(server)

    assert code == 0, server.output()
    assert await _schema(url) == (APP_TABLES | {"alembic_version"}, head_revision())


async def test_migrate_on_start_false_skips_migrating(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'packages.db'}"

    async with serving(url, tmp_path, MIGRATE_ON_START="false") as server:
        code = await _stop(server)

    assert code == 0, server.output()
    assert await _schema(url) == (set(), None)


async def test_migrate_to_an_unknown_revision_is_one_line_on_stderr(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"

    result = await packages_api(url, "migrate", "nosuch", cwd=tmp_path)

    assert result.code == 1
    assert result.stderr.startswith("error: ")
    assert "nosuch" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


async def test_revoking_twice_says_it_already_was(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tokens.db'}"
    created = await packages_api(url, "tokens", "create", "twice", cwd=tmp_path)
    assert created.code == 0, created.stderr

    first = await packages_api(url, "tokens", "revoke", "twice", cwd=tmp_path)
    second = await packages_api(url, "tokens", "revoke", "twice", cwd=tmp_path)

    assert (first.code, first.stderr.strip()) == (0, "revoked twice")
    assert (second.code, second.stderr.strip()) == (0, "twice was already revoked")
