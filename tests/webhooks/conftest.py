"""A webhook receiver on loopback: a small Starlette app that records what it is sent and
answers with the status a test sets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.transfer.fake_api import serve_on_loopback


@dataclass
class Receiver:
    url: str = ""
    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def hook(request: Request) -> Response:
        state.received.append((dict(request.headers), await request.body()))
        return Response(status_code=state.status)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    async with serve_on_loopback(app) as base:
        state.url = f"{base}/hook"
        yield state
