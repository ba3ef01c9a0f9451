"""A fake djangopackages.org API v4 on loopback: the seed packages, their category and grids.

Shapes as the original serves them (DRF ModelSerializers, LimitOffsetPagination with
absolute `next` links, hyperlinks for relations); pages are capped at `max_limit` records so
a walk takes several pages. Faults can be injected per page: a 500 (every time, or once),
a malformed page, a `next` link to another host, or one back to the first page.
"""

from __future__ import annotations

import asyncio
import copy
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.factories import seed_records

ORIGINAL = "https://djangopackages.org"

CATEGORIES = [
    {
        "id": 2,
        "title": "App",
        "slug": "apps",
        "description": "Small components used to build projects.",
        "title_plural": "Apps",
        "show_pypi": True,
        "created": "2010-08-14T22:47:52.448000-04:00",
        "modified": "2022-08-31T11:22:52.573431-04:00",
    }
]


def _grid(grid_id: int, title: str, slug: str, packages: list[int]) -> dict[str, Any]:
    return {
        "id": grid_id,
        "packages": [f"{ORIGINAL}/api/v4/packages/{package}/" for package in packages],
        "title": title,
        "slug": slug,
        "description": f"Packages for {title.lower()}.",
        "is_locked": False,
        "header": grid_id == 41,
        "created": "2011-02-12T20:10:00.100000-05:00",
        "modified": "2023-05-01T09:00:00-04:00",
    }


GRIDS = [
    _grid(287, "Shops", "shops", [631]),
    _grid(140, "Project templates", "project-templates", [1641]),
    _grid(127, "Boilerplates", "boilerplates", [1641]),
    _grid(41, "eCommerce", "ecommerce", [631]),
]


@dataclass
class Fault:
    kind: str  # "500", "flaky" (one 500, then fine), "malformed", "foreign-next", "loop"
    hits: int = 0


@dataclass
class FakeApi:
    max_limit: int = 1
    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # (resource, offset) -> fault
    faults: dict[tuple[str, int], Fault] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    base_url: str = ""
    # Set: every page after a list's first waits for it (an upstream that is slow to answer).
    gate: asyncio.Event | None = None
    # Set when a page is held at the gate.
    held: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        if not self.data:
            packages = sorted(seed_records(), key=lambda record: -record["id"])
            self.data = {
                "categories": copy.deepcopy(CATEGORIES),
                "grids": copy.deepcopy(GRIDS),
                "packages": packages,
            }

    def _relink(self, value: Any, base: str) -> Any:
        # The original writes links to its own host; so does the fake, to wherever it runs.
        return json.loads(json.dumps(value).replace(ORIGINAL, base))

    def app(self) -> Starlette:
        async def root(request: Request) -> Response:
            self.requests.append(request)
            base = str(request.base_url).rstrip("/")
            return JSONResponse(
                {name: f"{base}/api/v4/{name}/" for name in ("packages", "categories", "grids")}
            )

        async def listing(request: Request) -> Response:
            self.requests.append(request)
            resource = request.path_params["resource"]
            if resource not in self.data:
                return JSONResponse({"detail": "Not found."}, status_code=404)
            base = str(request.base_url).rstrip("/")
            try:
                offset = max(int(request.query_params.get("offset", "0")), 0)
            except ValueError:
                offset = 0
            limit = min(int(request.query_params.get("limit", "20")), self.max_limit)
            if self.gate is not None and offset > 0:
                self.held.set()
                await self.gate.wait()
            fault = self.faults.get((resource, offset))
            if fault is not None:
                fault.hits += 1
                if fault.kind == "500" or (fault.kind == "flaky" and fault.hits == 1):
                    return Response("Server Error (500)", status_code=500, media_type="text/html")
                if fault.kind == "malformed":
                    return Response('{"count": 2, "results": [', media_type="application/json")
            records = self.data[resource]
            url = f"{base}/api/v4/{resource}/"
            following = (
                f"{url}?limit={limit}&offset={offset + limit}"
                if offset + limit < len(records)
                else None
            )
            if fault is not None and fault.kind == "foreign-next":
                following = f"http://elsewhere.example/api/v4/{resource}/?offset={offset + limit}"
            if fault is not None and fault.kind == "loop":
                following = f"{url}?limit={limit}"
            previous = f"{url}?limit={limit}&offset={max(offset - limit, 0)}" if offset else None
            body = {
                "count": len(records),
                "next": following,
                "previous": previous,
                "results": self._relink(records[offset : offset + limit], base),
            }
            return JSONResponse(body)

        return Starlette(
            routes=[
                Route("/api/v4/", root),
                Route("/api/v4/{resource}/", listing),
            ]
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serve_on_loopback(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        assert server.started, "the fake API did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
