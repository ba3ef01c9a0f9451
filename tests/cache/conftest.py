"""A live app on a committed database, with its read cache, for the tests of the cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.config import Settings
from app.db import create_engine
from app.main import create_app
from tests.conftest import Databases
from tests.test_concurrent_writes import _token

# How long another process's write may take to reach this worker's store (PostgreSQL
# delivers the notification at commit; this only bounds a busy machine's scheduling).
NOTIFIED_WITHIN = 5.0


@dataclass
class Live:
    app: FastAPI
    client: httpx.AsyncClient
    headers: dict[str, str]
    url: str

    async def sql(self, statement: str, **params: object) -> None:
        """A write by another process's connection, committed."""
        engine = create_engine(Settings(database_url=self.url))
        try:
            async with engine.begin() as connection:
                await connection.execute(text(statement), params)
        finally:
            await engine.dispose()

    async def until_fresh(self, path: str, predicate: Callable[[Any], bool]) -> httpx.Response:
        deadline = asyncio.get_running_loop().time() + NOTIFIED_WITHIN
        while True:
            answer = await self.client.get(path)
            if predicate(answer.json()) or asyncio.get_running_loop().time() > deadline:
                return answer
            await asyncio.sleep(0.01)


@pytest.fixture
async def live(databases: Databases) -> AsyncIterator[Live]:
    async with AsyncExitStack() as stack:
        url = await databases.fresh()
        app = create_app(Settings(database_url=url, refresh_enabled=False))
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        )
        headers = await _token(url)
        created = await client.post(
            "/api/v4/categories/", json={"title": "Apps", "slug": "apps"}, headers=headers
        )
        assert created.status_code == 201, created.text
        for title in ("Alpha", "Beta"):
            made = await client.post(
                "/api/v4/packages/", json={"title": title, "category": "apps"}, headers=headers
            )
            assert made.status_code == 201, made.text
        yield Live(app, client, headers, url)


def _cache(answer: httpx.Response) -> str | None:
    result: str | None = answer.headers.get("x-cache")
    return result
