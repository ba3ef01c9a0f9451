"""One place that sees every request from start to end: its id, its access log line, its
metrics, and the 500 answer for an exception nothing else handled.

Pure ASGI (no BaseHTTPMiddleware): bodies stream through, and the request id set in the
context variable here is visible to everything the request runs, including its logs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from fastapi.routing import iter_route_contexts
from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.routing import Mount, compile_path, get_route_path  # type: ignore[attr-defined]
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.conditional import PRIVATE
from app.error_handlers import error_response
from app.metrics import REQUEST_SECONDS, REQUESTS
from app.observability.headers import add_security_headers
from app.observability.logs import request_id_var

access_logger = logging.getLogger("packages_api.access")
error_logger = logging.getLogger("packages_api.errors")

# The label for paths no route matches: a scanner's guesses must not create series.
UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A client's X-Request-ID is reused when it is short and plainly printable; else we mint one.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")
# Probes and scrapes come every few seconds: logged at DEBUG so they do not drown the rest.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
# How many paths RouteTemplates remembers before it starts over.
_SEEN_PATHS = 4096


@dataclass(frozen=True, slots=True)
class _Template:
    regex: re.Pattern[str]
    label: str


class RouteTemplates:
    """Maps a path to the template of the route that serves it (`/api/v4/packages/{key}/`),
    from the app's own routes, nested routers and mounts included."""

    def __init__(self, routes: Callable[[], list[object]]) -> None:
        self._routes = routes
        self._table: list[_Template] | None = None
        # Paths seen lately and their labels: a hot path is labelled without trying every
        # route's regex in turn. Bounded, since paths come from clients.
        self._seen: dict[str, str] = {}

    def _build(self) -> list[_Template]:
        table = []
        for context in iter_route_contexts(self._routes()):  # type: ignore[arg-type]
            path = context.path_format or context.path
            if not path:
                continue
            if isinstance(context.original_route, Mount):
                prefix = path.removesuffix("/{path}").rstrip("/")
                regex = re.compile(re.escape(prefix) + r"(/.*)?$")
                table.append(_Template(regex, prefix + "/{path}"))
            else:
                regex, _, _ = compile_path(path)
                table.append(_Template(regex, path))
        return table

    def label(self, path: str) -> str:
        found = self._seen.get(path)
        if found is None:
            found = self._match(path)
            if len(self._seen) >= _SEEN_PATHS:
                self._seen.clear()
            self._seen[path] = found
        return found

    def _match(self, path: str) -> str:
        if self._table is None:
            self._table = self._build()
        for template in self._table:
            if template.regex.match(path):
                return template.label
        return UNMATCHED


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestMiddleware:
    """Request id (X-Request-ID in and out), one access log line, request metrics, and
    our 500 error body for an unhandled exception (logged here, with its request id)."""

    def __init__(
        self,
        app: ASGIApp,
        templates: RouteTemplates,
        after: Callable[[Scope], None] | None = None,
    ) -> None:
        self.app = app
        self.templates = templates
        # Called after each request (the pool gauges refresh themselves there).
        self.after = after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = request_id_from(scope)
        token = request_id_var.set(request_id)
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:
            if started:
                raise
            # The server is stopping and SHUTDOWN_TIMEOUT ran out before this request
            # finished. Everything below has unwound (its transaction rolled back), so say
            # so: 503, retry, rather than the server's bare 500 and a logged traceback.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            error_logger.warning(
                "request cut short by shutdown: %s %s", scope["method"], get_route_path(scope)
            )
            status = 503
            await self._answer(scope, receive, send, request_id, status)
        except Exception:
            error_logger.exception(
                "unhandled error in %s %s", scope["method"], get_route_path(scope)
            )
            if started:
                raise
            status = 500
            await self._answer(scope, receive, send, request_id, status)
        finally:
            self._record(scope, status, time.perf_counter() - start)
            request_id_var.reset(token)

    @staticmethod
    async def _answer(
        scope: Scope, receive: Receive, send: Send, request_id: str, status: int
    ) -> None:
        """Our one error body, with this request's id, instead of the server's plain text."""
        if status == 503:
            response = error_response(
                503,
                "unavailable",
                "The service is restarting; nothing was changed, retry shortly.",
                headers={"Retry-After": "1", "Connection": "close"},
            )
        else:
            response = error_response(500, "internal_error", "Internal server error.")
        response.headers["X-Request-ID"] = request_id
        # This answer bypasses the middleware inside, which would have added them: the
        # security headers, and the cache policy of every error.
        add_security_headers(response.headers, scope)
        response.headers["Cache-Control"] = PRIVATE.decode()
        await response(scope, receive, send)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "other"
        path = get_route_path(scope)
        route = self.templates.label(path)
        counted, timed = _request_metrics(method, route, status)
        counted.inc()
        timed.observe(seconds)
        level = logging.DEBUG if route in _QUIET_ROUTES and status < 500 else logging.INFO
        if access_logger.isEnabledFor(level):
            duration_ms = round(seconds * 1000, 2)
            client = scope.get("client")
            access_logger.log(
                level,
                "%s %s %d %sms",
                scope["method"],
                path,
                status,
                duration_ms,
                extra={
                    "method": scope["method"],
                    "path": path,
                    "route": route,
                    "status": status,
                    "duration_ms": duration_ms,
                    "client": client[0] if client else None,
                },
            )
        if self.after is not None:
            self.after(scope)


@functools.lru_cache(maxsize=4096)
def _request_metrics(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The request metrics' children for these labels, found once: prometheus_client's
    labels() rebuilds and locks its lookup on every call, an eighth of a cache hit's CPU.
    Routes are templates and methods a fixed set, so the combinations are few."""
    return REQUESTS.labels(method, route, str(status)), REQUEST_SECONDS.labels(method, route)
