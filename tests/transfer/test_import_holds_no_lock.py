"""An import from an API reads its whole source before it writes: while the source is slow
to answer, a user's write goes through at once (on SQLite the write lock is the whole
database's), and the import then loads everything it read."""

from __future__ import annotations

import asyncio

from app.config import Settings
from app.transfer.jobs import run_import
from app.transfer.source_http import HttpSource
from tests.conftest import Databases
from tests.transfer.fake_api import FakeApi
from tests.transfer.helpers import api_client, bearer, write_token


async def test_a_write_never_waits_on_the_import_s_upstream(
    databases: Databases, fake_root: str, fake_api: FakeApi
) -> None:
    url = await databases.fresh()
    token = await write_token(url)
    fake_api.gate = asyncio.Event()
    importing = asyncio.create_task(run_import(Settings(database_url=url), HttpSource(fake_root)))
    try:
        await asyncio.wait_for(fake_api.held.wait(), timeout=30)
        async with api_client(url) as client:
            # Well under any busy timeout: a write that waited for the import's lock fails here.
            written = await asyncio.wait_for(
                client.post(
                    "/api/v4/categories/",
                    json={"title": "Written meanwhile"},
                    headers=bearer(token),
                ),
                timeout=3,
            )
        assert written.status_code == 201, written.text
    finally:
        fake_api.gate.set()
    result = await asyncio.wait_for(importing, timeout=60)
    assert result.committed and not result.summary.refused
    async with api_client(url) as client:
        titles = {
            c["title"]
            for c in (await client.get("/api/v4/categories/?limit=100")).json()["results"]
        }
        packages = (await client.get("/api/v4/packages/")).json()["count"]
    assert "Written meanwhile" in titles
    assert {c["title"] for c in fake_api.data["categories"]} <= titles
    assert packages == len(fake_api.data["packages"])
