"""The sender as `serve` runs it: started in the app's lifespan when WEBHOOKS_ENABLED, on a
fresh database of its own, it delivers a write's event with no one calling it."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack

import httpx

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.services.tokens import TokenService
from app.webhooks.signing import SIGNATURE_HEADER, verify
from tests.conftest import Databases
from tests.webhooks.conftest import Receiver


async def _admin(url: str) -> dict[str, str]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session:
            _, plain = await TokenService(session).create("admin", "admin")
            await session.commit()
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {plain}"}


async def test_the_lifespan_sender_delivers_on_its_own(
    databases: Databases,
    receiver: Receiver,
) -> None:
    url = await databases.fresh()
    settings = Settings(
        database_url=url,
        refresh_enabled=False,
        webhooks_enabled=True,
        webhook_allow_private=True,
        webhook_interval=0.05,
    )
    headers = await _admin(url)
    async with AsyncExitStack() as stack:
        app = create_app(settings)
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://testserver")
        )
        created = await client.post(
            "/api/v4/subscriptions/", json={"url": receiver.url}, headers=headers
        )
        assert created.status_code == 201, created.text
        category = await client.post("/api/v4/categories/", json={"title": "Apps"}, headers=headers)
        assert category.status_code == 201, category.text
        for _ in range(200):
            if receiver.received:
                break
            await asyncio.sleep(0.05)
        [(received_headers, body)] = receiver.received
        assert verify(created.json()["secret"], body, received_headers[SIGNATURE_HEADER.lower()])
        event = json.loads(body)
        assert (event["resource"], event["kind"], event["id"]) == (
            "categories",
            "created",
            category.json()["id"],
        )
        assert event["url"].startswith("http://testserver/api/v4/categories/")
