"""What the in-process benchmarks share: a throwaway migrated database, the real app with a
client, and the SQL a request sends (to EXPLAIN it). Run as scripts, the benchmarks find
this module beside them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from pg_admin import admin
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from app.migrate import upgrade


@asynccontextmanager
async def throwaway_database(server: str) -> AsyncIterator[str]:
    """A new database on `server`'s server, migrated to head; dropped afterwards."""
    name = f"packages_api_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    await admin(server, f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade, Settings(database_url=url))
        yield url
    finally:
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def served(url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app on `url` and a client that reaches it in-process. No read cache: these
    benchmarks time the queries, and repeat the same request (with the cache on they timed
    hits, and the request to EXPLAIN sent no SQL at all). No refresher, which would rewrite
    scores meanwhile; no access log on the output."""
    settings = Settings(
        database_url=url, refresh_enabled=False, log_level="warning", cache_enabled=False
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://b") as client,
    ):
        yield app, client


async def statements_of(app: FastAPI, request: Awaitable[Any]) -> list[tuple[str, Any]]:
    """The statements and parameters the app sends to its database while `request` runs."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await request
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return captured
