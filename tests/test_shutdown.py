"""Graceful shutdown of the real server: on SIGTERM it stops accepting, lets requests in
flight finish (within SHUTDOWN_TIMEOUT), and exits 0; nothing is left half-written."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Category
from tests.conftest import Databases
from tests.test_cli import SHUTDOWN_BOUND, _look, given_tokens, serving


async def _categories(url: str) -> list[str]:
    async def query(connection: AsyncConnection) -> list[str]:
        return list((await connection.scalars(select(Category.title))).all())

    titles: list[str] = await _look(url, query)
    return titles


async def _count(url: str) -> int:
    async def query(connection: AsyncConnection) -> int:
        return int(await connection.scalar(select(func.count()).select_from(Category)) or 0)

    count: int = await _look(url, query)
    return count


class SlowBody:
    """A JSON body sent in two halves with a pause between: the request is in flight
    (headers and half its body received by the server) until `release` is set."""

    def __init__(self, title: str) -> None:
        self.data = json.dumps({"title": title}).encode()
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        half = len(self.data) // 2
        yield self.data[:half]
        self.started.set()
        await self.release.wait()
        yield self.data[half:]


@pytest.fixture
async def database(databases: Databases) -> tuple[str, str]:
    url = await databases.fresh()
    [token] = await given_tokens(url, ("writer", "write"))
    return url, token


async def test_requests_in_flight_finish_and_new_connections_are_refused(
    database: tuple[str, str], tmp_path: Path
) -> None:
    url, token = database
    async with serving(url, tmp_path, SHUTDOWN_TIMEOUT="20") as server:
        bodies = [SlowBody(f"In flight {n}") for n in range(4)]
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:

            async def post(body: SlowBody) -> httpx.Response:
                return await client.post(
                    "/api/v4/categories/",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                        "Content-Length": str(len(body.data)),
                    },
                    timeout=60,
                )

            posts = [asyncio.create_task(post(body)) for body in bodies]
            await asyncio.wait_for(asyncio.gather(*(b.started.wait() for b in bodies)), 30)
            await asyncio.sleep(0.3)  # the first halves reach the server

            loop = asyncio.get_running_loop()
            stopped_at = loop.time()
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)

            # Stopped accepting: a new connection is refused while the others finish.
            assert server.process.returncode is None, server.output()
            with pytest.raises(httpx.ConnectError):
                async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as late:
                    await late.get("/healthz", timeout=5)

            for body in bodies:
                body.release.set()
            responses = await asyncio.gather(*posts)
        code = await asyncio.wait_for(server.process.wait(), SHUTDOWN_BOUND)
        elapsed = loop.time() - stopped_at

    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert code == 0, server.output()
    assert elapsed < 20
    assert sorted(await _categories(url)) == [f"In flight {n}" for n in range(4)]
    assert "Traceback" not in server.output()


async def test_a_request_slower_than_the_timeout_is_cut_and_writes_nothing(
    database: tuple[str, str], tmp_path: Path
) -> None:
    url, token = database
    async with serving(url, tmp_path, SHUTDOWN_TIMEOUT="2") as server:
        body = SlowBody("Never finished")
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:
            post = asyncio.create_task(
                client.post(
                    "/api/v4/categories/",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Length": str(len(body.data)),
                    },
                    timeout=60,
                )
            )
            await asyncio.wait_for(body.started.wait(), 30)
            await asyncio.sleep(0.3)
            loop = asyncio.get_running_loop()
            stopped_at = loop.time()
            server.process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(server.process.wait(), SHUTDOWN_BOUND)
            elapsed = loop.time() - stopped_at
            body.release.set()
            cut = await post

    assert code == 0, server.output()
    # The timeout, plus the time to stop the app and close the pool.
    assert 2 <= elapsed < 10, elapsed
    # Told plainly that nothing happened and it may retry; and indeed nothing was written.
    assert cut.status_code == 503
    assert cut.json()["code"] == "unavailable"
    assert cut.headers["retry-after"] == "1"
    assert await _count(url) == 0
    assert "Traceback" not in server.output()
