"""Logs, the metrics route and the metrics' lifespan hooks, installed on the app (kept out of
the package's __init__, so that the CLI's logs need not import the web framework)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from app.config import Settings
from app.observability.logs import configure_logging
from app.observability.prometheus import forget_dead_workers, worker_stopped
from app.observability.prometheus import router as metrics_router

OPERATIONS_TAG = {
    "name": "operations",
    "description": "Probes and metrics for whoever runs the service; not API v4 resources.",
}


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Logs, the root path, the metrics route and the metrics' lifespan hooks.
    Its middleware (proxy headers, request ids and access logs, compression, security
    headers, CORS) is assembled with the app's own in app.middleware_stack."""
    configure_logging(settings)
    if settings.root_path:
        # FastAPI puts it in every request's scope: links, redirects and docs follow it.
        app.root_path = settings.root_path
    app.openapi_tags = [*(app.openapi_tags or []), OPERATIONS_TAG]
    # The probes (app.routers.health) are included by create_app, just before this call:
    # observability wraps the app and imports no routes.
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    _wrap_lifespan(app)


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
