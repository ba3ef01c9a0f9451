"""Many writers at once in one process (what bench/soak.py found): every write succeeds,
in order on SQLite (app.db.SqliteWriters), and one that waits too long is a clean 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.db import SqliteWriters, create_engine, create_sessionmaker
from app.main import create_app
from app.services.tokens import TokenService
from tests.conftest import Databases

Headers = dict[str, str]


async def _token(url: str) -> Headers:
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session:
            _, plain = await TokenService(session).create("writer", "write")
            await session.commit()
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {plain}"}


async def _live(
    stack: AsyncExitStack, databases: Databases, **settings: object
) -> tuple[FastAPI, httpx.AsyncClient, Headers]:
    """An app on its own engine and a fresh database, as `serve` runs it (refresher off)."""
    url = await databases.fresh()
    app = create_app(Settings(database_url=url, refresh_enabled=False, **settings))  # type: ignore[arg-type]
    await stack.enter_async_context(app.router.lifespan_context(app))
    transport = httpx.ASGITransport(app=app)
    client = await stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url="http://testserver")
    )
    headers = await _token(url)
    response = await client.post(
        "/api/v4/categories/", json={"title": "Apps", "slug": "apps"}, headers=headers
    )
    assert response.status_code == 201, response.text
    return app, client, headers


async def test_forty_concurrent_writes_of_one_process_all_succeed(databases: Databases) -> None:
    # Before the writers' queue, SQLite's busy polling failed some of these (with a 1 s
    # busy timeout, one run in three); the soak saw the same under load with 5 s.
    async with AsyncExitStack() as stack:
        _app, client, headers = await _live(stack, databases)

        async def create(number: int) -> httpx.Response:
            body = {"title": f"Writer {number}", "category": "apps"}
            return await client.post("/api/v4/packages/", json=body, headers=headers)

        responses = await asyncio.gather(*(create(number) for number in range(40)))
        assert [r.status_code for r in responses] == [201] * 40, [
            r.text for r in responses if r.status_code != 201
        ]
        listed = (await client.get("/api/v4/packages/?limit=1")).json()
        assert listed["count"] == 40


async def test_a_write_kept_waiting_past_the_busy_timeout_is_503_and_changes_nothing(
    databases: Databases, dialect: str
) -> None:
    if dialect != "sqlite":
        pytest.skip("the writers' queue is SQLite's; PostgreSQL writers wait on row locks")
    async with AsyncExitStack() as stack:
        app, client, headers = await _live(stack, databases, sqlite_busy_timeout_ms=200)
        writers: SqliteWriters = app.state.sqlite_writers
        body = {"title": "Patient", "category": "apps"}
        async with writers.turn():  # another writer of this process holds on
            refused = await client.post("/api/v4/packages/", json=body, headers=headers)
            assert (await client.get("/api/v4/packages/")).json()["count"] == 0  # reads go on
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["code"] == "unavailable"
        assert (await client.get("/api/v4/packages/")).json()["count"] == 0
        accepted = await client.post("/api/v4/packages/", json=body, headers=headers)
        assert accepted.status_code == 201


# The queue itself, without a database.


@pytest.fixture
async def writers() -> AsyncIterator[SqliteWriters]:
    yield SqliteWriters(timeout_ms=100)


async def test_writers_take_their_turns_in_the_order_they_came(writers: SqliteWriters) -> None:
    order: list[int] = []

    async def write(number: int) -> None:
        async with writers.turn(patient=True):
            order.append(number)
            await asyncio.sleep(0.001)

    async with writers.turn():
        tasks = [asyncio.create_task(write(number)) for number in range(10)]
        await asyncio.sleep(0.01)  # all ten are queued now
    await asyncio.gather(*tasks)
    assert order == list(range(10))


async def test_a_patient_writer_waits_past_the_timeout_an_impatient_one_does_not(
    writers: SqliteWriters,
) -> None:
    async with writers.turn():
        patient = asyncio.create_task(_enter(writers, patient=True))
        with pytest.raises(TimeoutError, match="turn to write to SQLite"):
            await _enter(writers, patient=False)
        await asyncio.sleep(0.15)
        assert not patient.done()
    await patient
    async with writers.turn():  # the timed-out waiter left nothing behind
        pass


async def test_a_free_turn_is_taken_even_with_a_zero_timeout() -> None:
    async with SqliteWriters(timeout_ms=0).turn():
        pass


async def _enter(writers: SqliteWriters, *, patient: bool) -> None:
    async with writers.turn(patient=patient):
        pass
