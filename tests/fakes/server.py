"""Serving a fake upstream (an ASGI app) on a loopback port, for tests and the benchmark.

Real HTTP over a real socket, so the clients under test run exactly as in production:
connection pooling, timeouts, headers. `Recorder` wraps an app to keep every request
it received (and to add latency, which the benchmark uses to model the Internet).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True, slots=True)
class Seen:
    """One request a fake received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class Recorder:
    """ASGI middleware: records each HTTP request, then waits `latency` seconds."""

    app: ASGIApp
    latency: float = 0.0
    seen: list[Seen] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self.seen.append(
                Seen(scope["method"], scope["path"], scope["query_string"].decode(), headers)
            )
            if self.latency:
                await asyncio.sleep(self.latency)
        await self.app(scope, receive, send)

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]


@asynccontextmanager
async def serve_on_loopback(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 at a free port for the block; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", backlog=2048
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the server
            await asyncio.sleep(0.005)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
