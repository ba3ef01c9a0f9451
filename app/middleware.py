"""HTTP method plumbing DRF gave its clients for free: HEAD and OPTIONS on every route,
and an `Allow` header naming the methods a URL accepts.

Pure ASGI (no BaseHTTPMiddleware) so the body streams through untouched and cheaply.
"""

from __future__ import annotations

import json

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class MethodsMiddleware:
    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes
        self._allow: dict[str, str] = {}

    def allowed(self, path_format: str) -> str:
        """`Allow` for a route template, computed once: every method of every route there."""
        if path_format not in self._allow:
            methods = {"OPTIONS"}
            for route in self.routes:
                if isinstance(route, APIRoute) and route.path_format == path_format:
                    methods |= route.methods or set()
                    if "GET" in methods:
                        methods.add("HEAD")
            order = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
            self._allow[path_format] = ", ".join(m for m in order if m in methods)
        return self._allow[path_format]

    def _match(self, scope: Scope) -> str | None:
        for route in self.routes:
            if isinstance(route, APIRoute) and route.matches(scope)[0] is not Match.NONE:
                return route.path_format
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        preflight = any(name == b"access-control-request-method" for name, _ in scope["headers"])
        if method == "OPTIONS" and not preflight:
            path_format = self._match(scope)
            if path_format is not None:
                await self._options(path_format, send)
                return
        head = method == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                if isinstance(route, APIRoute):
                    headers = [h for h in message.get("headers", []) if h[0].lower() != b"allow"]
                    headers.append((b"allow", self.allowed(route.path_format).encode()))
                    message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                # Same headers as GET (Content-Length included), no body.
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_allow)

    async def _options(self, path_format: str, send: Send) -> None:
        allow = self.allowed(path_format)
        body = json.dumps(
            {
                "path": path_format,
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
