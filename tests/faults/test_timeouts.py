"""A write stuck behind a lock another connection holds is cut by the database's timeouts
and answered 503 + Retry-After, and it does not take the pool with it: reads go on.

PostgreSQL: a row lock, cut by DB_LOCK_TIMEOUT_MS (55P03) or, with that off, by
DB_STATEMENT_TIMEOUT_MS (57014). SQLite: the write lock, cut by SQLITE_BUSY_TIMEOUT_MS.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.config import Settings
from app.db import create_engine, postgres_connect_args
from app.main import create_app
from app.services.tokens import TokenService
from tests.conftest import Databases

# A hang detector, not a speed target: the timeouts under test are a fraction of this.
BOUND = 20.0


@asynccontextmanager
async def _served(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session:
            _, token = await TokenService(session).create("slow", "write")
            await session.commit()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            headers = {"Authorization": f"Bearer {token}"}
            created = await client.post(
                "/api/v4/categories/", json={"title": "Held"}, headers=headers
            )
            assert created.status_code == 201, created.text
            yield client, token


@asynccontextmanager
async def _holding_the_lock(settings: Settings) -> AsyncIterator[None]:
    """Another connection holds the lock a write of category `held` needs."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as holder:
            if settings.is_sqlite:
                await holder.execution_options(sqlite_write=True)
                await holder.execute(text("SELECT 1"))
            else:
                held = "SELECT id FROM categories WHERE slug = 'held' FOR UPDATE"
                await holder.execute(text(held))
            yield
            await holder.rollback()
    finally:
        await engine.dispose()


@pytest.mark.parametrize("cut_by", ["lock_timeout", "statement_timeout"])
async def test_a_write_waiting_on_a_held_lock_is_cut_and_reads_go_on(
    databases: Databases, dialect: str, cut_by: str
) -> None:
    if dialect == "sqlite" and cut_by == "statement_timeout":
        pytest.skip("SQLite has one timeout for a held lock: SQLITE_BUSY_TIMEOUT_MS")
    overrides: dict[str, Any] = {
        # A small pool: three stuck writes would take all of it if nothing cut them.
        "db_pool_size": 2,
        "db_max_overflow": 0,
        "db_pool_timeout": 5,
        "sqlite_busy_timeout_ms": 300,
        "db_lock_timeout_ms": 300 if cut_by == "lock_timeout" else 0,
        "db_statement_timeout_ms": 300 if cut_by == "statement_timeout" else 10_000,
    }
    settings = Settings(database_url=await databases.fresh(), **overrides)
    async with _served(settings) as (client, token):
        headers = {"Authorization": f"Bearer {token}"}

        async def write(number: int) -> httpx.Response:
            return await client.patch(
                "/api/v4/categories/held/", json={"description": f"try {number}"}, headers=headers
            )

        async with _holding_the_lock(settings):
            started = time.monotonic()
            stuck = [asyncio.create_task(write(n)) for n in range(3)]
            reads = [(await client.get("/api/v4/categories/")).status_code for _ in range(5)]
            answers = await asyncio.wait_for(asyncio.gather(*stuck), BOUND)
            waited = time.monotonic() - started

        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "1"
            assert answer.json()["code"] == "unavailable"
        assert reads == [200] * 5
        assert waited < BOUND
        # The pool is whole again: as many requests as it has connections, and more.
        again = await asyncio.gather(*(client.get("/api/v4/categories/") for _ in range(6)))
        assert [r.status_code for r in again] == [200] * 6
        released = await write(99)
        assert released.status_code == 200, released.text
        assert released.json()["description"] == "try 99"


def test_jobs_get_no_lock_or_idle_timeout_and_requests_get_all_three() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://u@h/db",
        db_statement_timeout_ms=7000,
        db_lock_timeout_ms=2000,
        db_idle_in_transaction_timeout_ms=30000,
        db_job_statement_timeout_ms=0,
    )
    request = postgres_connect_args(settings)
    job = postgres_connect_args(settings, job=True)

    assert request["server_settings"] == {
        "statement_timeout": "7000",
        "lock_timeout": "2000",
        "idle_in_transaction_session_timeout": "30000",
    }
    assert request["command_timeout"] > 7.0
    assert job["server_settings"] == {
        "statement_timeout": "0",
        "lock_timeout": "0",
        "idle_in_transaction_session_timeout": "0",
    }
    assert "command_timeout" not in job
    assert request["timeout"] == job["timeout"] == settings.db_connect_timeout


async def test_the_timeouts_are_in_force_on_the_apps_connections(
    databases: Databases, dialect: str
) -> None:
    if dialect == "sqlite":
        pytest.skip("PostgreSQL session settings")
    settings = Settings(database_url=await databases.fresh(), db_lock_timeout_ms=1234)
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            shown = await connection.scalar(text("SHOW lock_timeout"))
            idle = await connection.scalar(text("SHOW idle_in_transaction_session_timeout"))
            statement = await connection.scalar(text("SHOW statement_timeout"))
    finally:
        await engine.dispose()
    assert (shown, idle, statement) == ("1234ms", "1min", "10s")
