"""What the import/export tests share: the CLI, reading our API, looking into a database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import MetaData, select

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.services.tokens import TokenService
from tests.test_cli import Result, packages_api


async def run(url: str, *args: str, cwd: Path, stdin: str | None = None) -> Result:
    """`packages-api ARGS` on the database at `url`, as a user runs it (optionally fed stdin)."""
    return await packages_api(url, *args, cwd=cwd, stdin=stdin)


async def export_bytes(url: str, tmp_path: Path, name: str) -> bytes:
    target = tmp_path / name
    result = await run(url, "export", str(target), cwd=tmp_path)
    assert result.code == 0, result.stderr
    return await asyncio.to_thread(target.read_bytes)


@asynccontextmanager
async def api_client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of our API serving the database at `url` (one app for all its requests)."""
    app = create_app(Settings(database_url=url))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


async def api_get(url: str, path: str) -> httpx.Response:
    """A GET on our API serving the database at `url`."""
    async with api_client(url) as client:
        return await client.get(path)


async def every(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    """Every record of a list, following its `next` links, 100 a page."""
    records: list[dict[str, Any]] = []
    page: str | None = f"{path}?limit=100"
    while page is not None:
        response = await client.get(page)
        assert response.status_code == 200, response.text
        body = response.json()
        records.extend(body["results"])
        page = body["next"]
    return records


async def api_write(url: str, token: str, method: str, path: str, body: Any) -> httpx.Response:
    async with api_client(url) as client:
        return await client.request(method, path, json=body, headers=bearer(token))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def write_token(url: str) -> str:
    """A write token for the database at `url`, as `packages-api tokens create` makes one."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            _, token = await TokenService(session).create("ci", "write")
    finally:
        await engine.dispose()
    return token


async def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in id order: to show that nothing changed."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            tables = {}
            for name, table in sorted(metadata.tables.items()):
                if name == "alembic_version":
                    continue
                rows = await connection.execute(select(table).order_by(*table.primary_key))
                tables[name] = [tuple(row) for row in rows]
            return tables
    finally:
        await engine.dispose()


def summary_rows(stdout: str) -> dict[str, tuple[int, int, int, int]]:
    """The summary table: resource -> (created, updated, unchanged, refused)."""
    rows = {}
    lines = stdout.splitlines()
    assert lines[0].split() == ["resource", "created", "updated", "unchanged", "refused"], stdout
    for line in lines[1:7]:
        name, *numbers = line.split()
        created, updated, unchanged, refused = (int(number) for number in numbers)
        rows[name] = (created, updated, unchanged, refused)
    return rows
