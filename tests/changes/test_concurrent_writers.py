"""Several writers at once, a reader following `next` meanwhile: it sees every event once,
in seq order, with no gap, on both databases (PostgreSQL's writers really overlap: the
advisory lock at commit is what keeps seq in commit order)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import httpx

from app.config import Settings
from app.main import create_app
from tests.conftest import Databases
from tests.test_concurrent_writes import _token

WRITERS = 6
WRITES = 8


async def test_a_reader_following_next_never_misses_nor_repeats_with_concurrent_writers(
    databases: Databases,
) -> None:
    url = await databases.fresh()
    async with AsyncExitStack() as stack:
        app = create_app(Settings(database_url=url, refresh_enabled=False, db_pool_size=8))
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        )
        headers = await _token(url)
        category = await client.post("/api/v4/categories/", json={"title": "A"}, headers=headers)
        assert category.status_code == 201, category.text

        async def writer(number: int) -> None:
            for write in range(WRITES):
                body = {"title": f"W{number}-{write}", "category": category.json()["id"]}
                created = await client.post("/api/v4/packages/", json=body, headers=headers)
                assert created.status_code == 201, created.text
                patched = await client.patch(
                    f"/api/v4/packages/{created.json()['id']}/",
                    json={"title": f"W{number}-{write} edited"},
                    headers=headers,
                )
                assert patched.status_code == 200, patched.text

        seen: list[int] = []
        done = asyncio.Event()

        async def reader() -> None:
            next_url = "/api/v4/changes/?limit=7"
            while True:
                finished = done.is_set()  # read before the page: then the page is the last
                page = (await client.get(next_url)).json()
                seen.extend(event["seq"] for event in page["results"])
                next_url = page["next"]
                if finished and not page["results"]:
                    return
                await asyncio.sleep(0)

        reading = asyncio.create_task(reader())
        await asyncio.gather(*(writer(number) for number in range(WRITERS)))
        done.set()
        await reading
    total = 1 + WRITERS * WRITES * 2
    assert seen == list(range(1, total + 1))
