"""HTTP method plumbing DRF gave its clients for free: HEAD and OPTIONS on every route,
and an `Allow` header naming the methods a URL accepts.

Pure ASGI (no BaseHTTPMiddleware) so bodies stream through untouched and cheaply. The
route templates and their methods come from the OpenAPI document, the one public list of
every operation, so a new route gets HEAD, OPTIONS and Allow without being registered here.

Also the MAX_BODY_BYTES limit, answered with our error body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import compile_path, get_route_path  # type: ignore[attr-defined]
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response

_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class MethodsMiddleware:
    def __init__(self, app: ASGIApp, openapi: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.openapi = openapi
        self._routes: list[tuple[re.Pattern[str], str, str]] | None = None

    def _table(self) -> list[tuple[re.Pattern[str], str, str]]:
        """(regex, template, Allow value) for every documented path, built once."""
        if self._routes is None:
            routes = []
            for template, operations in self.openapi()["paths"].items():
                methods = {method.upper() for method in operations} | {"OPTIONS"}
                if "GET" in methods:
                    methods.add("HEAD")
                regex, _, _ = compile_path(template)
                allow = ", ".join(m for m in _ORDER if m in methods)
                routes.append((regex, template, allow))
            self._routes = routes
        return self._routes

    def _match(self, scope: Scope) -> tuple[str, str] | None:
        path = get_route_path(scope)
        for regex, template, allow in self._table():
            if regex.match(path):
                return template, allow
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        matched = self._match(scope)
        method = scope["method"]
        preflight = any(name == b"access-control-request-method" for name, _ in scope["headers"])
        if matched is not None and method == "OPTIONS" and not preflight:
            await self._options(*matched, send)
            return
        # HEAD is GET without the body, on every route (the docs pages included).
        head = method == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        if matched is None and not head:
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and matched is not None:
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"allow"]
                headers.append((b"allow", matched[1].encode()))
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                # Same status and headers as GET (Content-Length included), no body.
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_allow)

    @staticmethod
    async def _options(template: str, allow: str, send: Send) -> None:
        body = json.dumps(
            {
                "path": template,
                "methods": allow.split(", "),
                "renders": ["application/json"],
                "parses": ["application/json"],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"allow", allow.encode()),
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
        if declared.isdigit() and int(declared) > self.max_bytes:
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
