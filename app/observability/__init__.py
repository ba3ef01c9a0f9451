"""Running the service in production: logs, request ids, metrics, probes, proxies, CORS,
security headers and compression, installed on the app by `install_observability`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from app.conditional import CachePolicyMiddleware
from app.config import Settings
from app.observability.compression import CompressionMiddleware
from app.observability.headers import SecurityHeadersMiddleware
from app.observability.logs import configure_logging
from app.observability.prometheus import (
    forget_dead_workers,
    observe_pool_after_request,
    worker_stopped,
)
from app.observability.prometheus import router as metrics_router
from app.observability.proxy import ProxyHeadersMiddleware
from app.observability.readiness import Readiness
from app.observability.requests import RequestMiddleware, RouteTemplates
from app.routers import health

OPERATIONS_TAG = {
    "name": "operations",
    "description": "Probes and metrics for whoever runs the service; not API v4 resources.",
}
# Browsers may send these on cross-origin calls, and read these from the answers.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
]
CORS_RESPONSE_HEADERS = ["ETag", "Location", "X-Request-ID", "Retry-After", "Allow"]


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Wire everything in; call last in create_app, after the app's own middleware.

    Middleware, outermost first (each `add_middleware` below wraps the ones before it):

    1. ProxyHeadersMiddleware: a trusted proxy's client address, scheme and host, applied
       before anything reads them.
    1b. CachePolicyMiddleware (app.conditional): Cache-Control and Vary on every answer,
       RequestMiddleware's 500s included.
    2. RequestMiddleware: request id, access log line, metrics; it times everything
       inside, and answers an unhandled exception with our 500 body.
    3. CompressionMiddleware: gzip for bodies over 1 KB, with `-gzip` ETags; outside
       the security headers, so the docs page is hashed before it is compressed.
    4. SecurityHeadersMiddleware: on every answer from here in, CORS preflights, 413s
       and error bodies included (RequestMiddleware adds them to its own 500).
    5. CORSMiddleware (when CORS_ORIGINS is set): before MethodsMiddleware, which would
       otherwise answer a preflight OPTIONS as DRF's metadata.
    Then the app's own: BodyLimitMiddleware, MethodsMiddleware, the routes.
    """
    configure_logging(settings)
    if settings.root_path:
        # FastAPI puts it in every request's scope: links, redirects and docs follow it.
        app.root_path = settings.root_path
    app.state.readiness = Readiness(settings.readiness_timeout)
    app.openapi_tags = [*(app.openapi_tags or []), OPERATIONS_TAG]
    app.include_router(health.router)
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    _wrap_lifespan(app)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            # Bearer tokens, no cookies: credentials mode is not needed, and `*` stays usable.
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(CompressionMiddleware)
    app.add_middleware(
        RequestMiddleware,
        templates=RouteTemplates(lambda: list(app.routes)),
        after=observe_pool_after_request,
    )
    app.add_middleware(
        CachePolicyMiddleware,
        max_age=settings.http_cache_max_age,
        stale_while_revalidate=settings.http_cache_stale_while_revalidate,
        # The hyperlinks' base follows a trusted proxy's X-Forwarded-Host/-Proto.
        forwarded_links=bool(settings.trusted_proxies) and not settings.public_base_url,
    )
    app.add_middleware(ProxyHeadersMiddleware, trusted=settings.trusted_proxies)


def _wrap_lifespan(app: FastAPI) -> None:
    """Around the app's lifespan: forget dead workers' gauges on start, mark this worker's
    dead on stop (multiprocess metrics; no-ops with one process)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        await asyncio.to_thread(forget_dead_workers)
        try:
            async with inner(app_) as state:
                yield state
        finally:
            worker_stopped()

    app.router.lifespan_context = lifespan
