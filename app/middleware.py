"""HTTP plumbing the original's clients got from Django and DRF, as pure ASGI middleware
(no BaseHTTPMiddleware, so bodies stream through untouched and cheaply):

- HEAD and OPTIONS on every route, and `Allow` and `Vary: Accept` on every API response;
- APPEND_SLASH: a URL missing its trailing slash is redirected to the one that has it;
- the MAX_BODY_BYTES limit, answered with our error body.

The route templates and their methods come from the OpenAPI document, the one public list
of every operation, so a new route gets all of this without being registered here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import compile_path, get_route_path  # type: ignore[attr-defined]
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.error_handlers import error_response

_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Characters RFC 3986 allows unescaped in a path.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


@dataclass(frozen=True, slots=True)
class RouteInfo:
    regex: re.Pattern[str]
    allow: str
    name: str
    description: str


class MethodsMiddleware:
    def __init__(
        self, app: ASGIApp, openapi: Callable[[], dict[str, Any]], plain_get_paths: list[str]
    ) -> None:
        self.app = app
        self.openapi = openapi
        # Pages outside the OpenAPI document that answer GET (the docs and the schema).
        self.plain_get_paths = plain_get_paths
        self._routes: list[RouteInfo] | None = None

    def _table(self) -> list[RouteInfo]:
        """Every documented path with its Allow value, built once on first use."""
        if self._routes is None:
            paths: dict[str, dict[str, Any]] = dict(self.openapi()["paths"])
            for path in self.plain_get_paths:
                paths.setdefault(path, {"get": {}})
            routes = []
            for template, operations in paths.items():
                methods = {method.upper() for method in operations} | {"OPTIONS"}
                if "GET" in methods:
                    methods.add("HEAD")
                described: dict[str, Any] = operations.get("get") or next(
                    iter(operations.values()), {}
                )
                regex, _, _ = compile_path(template)
                routes.append(
                    RouteInfo(
                        regex=regex,
                        allow=", ".join(m for m in _ORDER if m in methods),
                        name=str(described.get("summary") or template),
                        description=str(described.get("description", "")),
                    )
                )
            self._routes = routes
        return self._routes

    def _match(self, path: str) -> RouteInfo | None:
        for route in self._table():
            if route.regex.match(path):
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = get_route_path(scope)
        route = self._match(path)
        method = scope["method"]
        if route is None:
            if not path.endswith("/") and self._match(path + "/") is not None:
                await self._append_slash(scope, send)
                return
        elif method == "OPTIONS":
            await self._options(route, send)
            return
        # HEAD is GET without the body, on every route.
        head = method == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        if route is None and not head:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and route is not None:
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"allow"]
                headers.append((b"allow", route.allow.encode()))
                if not any(name.lower() == b"vary" for name, _ in headers):
                    headers.append((b"vary", b"Accept"))
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                # Same status and headers as GET (Content-Length included), no body.
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _append_slash(scope: Scope, send: Send) -> None:
        """Django's APPEND_SLASH: 301 for reads; 308 for writes, which keeps the method and
        body. The Location is a path, so it is right behind any proxy or host name."""
        # The path arrives decoded: encode it again, or "%3F" would turn into a query and
        # CR/LF into a header break. The query string is passed on as the client sent it.
        path = scope.get("root_path", "").rstrip("/") + get_route_path(scope) + "/"
        location = quote(path, safe=_PATH_SAFE).encode("ascii")
        if scope.get("query_string"):
            location += b"?" + scope["query_string"]
        status = 301 if scope["method"] in {"GET", "HEAD"} else 308
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"location", location), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _options(route: RouteInfo, send: Send) -> None:
        """DRF's metadata answer: name, description, renders, parses (and the methods)."""
        body = json.dumps(
            {
                "name": route.name,
                "description": route.description,
                "renders": ["application/json"],
                "parses": ["application/json"],
                "methods": route.allow.split(", "),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"allow", route.allow.encode()),
                    (b"vary", b"Accept"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`, whether its Content-Length says so or it streams.

    Not FastAPI's `max_body_size`: Starlette's limiter sits outside our error handlers and
    swaps any answer to an oversized Content-Length for a plain-text 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _detail(self) -> str:
        return f"The body is larger than {self.max_bytes} bytes (MAX_BODY_BYTES)."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            # Refused before the app runs: nothing is read, nothing is written.
            response = error_response(413, "payload_too_large", self._detail())
            await response(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised while the endpoint reads its body, before any dependency runs;
                    # our HTTPException handler renders it.
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, receive_within_limit, send)
