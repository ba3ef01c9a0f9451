"""The application: create_app() and the lifespan that owns the engine and sessionmaker."""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from app.cache.lifespan import read_cache_lifespan
from app.config import Settings, get_settings
from app.db import create_engine, create_sessionmaker, sqlite_writers
from app.docs import install_docs
from app.error_handlers import install_error_handlers
from app.links import API_PREFIX
from app.middleware_stack import install_middleware
from app.observability.install import install_observability
from app.observability.readiness import Readiness
from app.openapi import DESCRIPTION, TAGS, TITLE, app_version, install_openapi, operation_id
from app.refresh.lifespan import refresher_lifespan
from app.request_limits import check_request
from app.routers import (
    badges,
    categories,
    changes,
    feeds,
    grid_table,
    grids,
    health,
    lookup,
    packages,
    refresh,
    root,
    status,
    subscriptions,
)
from app.routers import search as search_router  # search: GET /api/v4/search/
from app.state import AppState, state_of
from app.webhooks.sender import sender_lifespan


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = state_of(app)
    settings = state.settings
    engine = create_engine(settings)
    state.engine = engine
    state.sessionmaker = create_sessionmaker(
        engine, changes_retention_days=settings.changes_retention_days
    )
    state.sqlite_writers = sqlite_writers(settings)
    try:
        # The metrics refresher (app/refresh/): its forges, its loop, its clean stop.
        async with (
            # The read cache (app/cache/): its store, and the watcher that keeps it exact.
            read_cache_lifespan(settings) as read_cache,
            refresher_lifespan(state) as refresher,
            # The webhook sender (app/webhooks/): its HTTP client, its loop, its stop.
            sender_lifespan(state) as sender,
        ):
            state.read_cache = read_cache
            state.refresh_service = refresher
            state.refresher = refresher if settings.refresh_enabled else None
            state.webhook_sender = sender
            yield
    finally:
        await engine.dispose()


@functools.cache
def api_router() -> APIRouter:
    """Every /api/v4 route, assembled once per process: like the routers it includes, it
    holds no per-app state, and FastAPI prepares each route of an include (dependencies,
    parameter and response models) as it is made, some 0.1 s of CPU per app."""
    # Query length, body media type and strict JSON, before any route's dependencies.
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(check_request)])
    for module in (
        root,
        packages,
        badges,
        categories,
        grids,
        grid_table,
        refresh,
        changes,
        status,
        lookup,
        subscriptions,
    ):
        api.include_router(module.router)
    api.include_router(search_router.router)  # search
    return api


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title=TITLE,
        version=app_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        # Our own APPEND_SLASH (app.middleware) answers with a path-only Location instead.
        redirect_slashes=False,
        # The docs pages are ours (app.docs): offline, no CDN.
        docs_url=None,
        redoc_url=None,
        openapi_tags=TAGS,
        generate_unique_id_function=operation_id,
        license_info={"name": "MIT", "identifier": "MIT"},
        # FastAPI's own OpenTelemetry hooks: off. Metrics are app.metrics' (Prometheus), and
        # with no provider configured the hooks only asked OpenTelemetry, on every request,
        # whether one was (a twentieth of a detail's CPU).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # The typed state (app.state), filled here and in the lifespan only.
    app.state = state = AppState()
    state.settings = settings
    state.readiness = Readiness(settings.readiness_timeout)
    state.status_cache = status.StatusCache()
    app.include_router(api_router())
    app.include_router(feeds.router)  # /feeds/*.atom, outside the API's prefix
    install_error_handlers(app)
    # OpenAPI document and docs pages (app.openapi, app.docs).
    install_openapi(app)
    plain_get_paths = [path for path in [app.openapi_url] if path is not None]
    plain_get_paths += install_docs(app)
    # The probes (/healthz, /readyz), then logs and metrics (app.observability).
    app.include_router(health.router)
    install_observability(app, settings)
    # Every middleware, in one list (app.middleware_stack).
    install_middleware(app, settings, plain_get_paths)
    return app


def create_served_app() -> FastAPI:
    """The app `packages-api serve` runs in each worker: create_app(), then its long-lived
    objects (routes, schemas, validators, mappers: some 165,000) moved out of the garbage
    collector's sight. They are never garbage, yet each full collection walked them all:
    over a tenth of a list page's CPU. Not in create_app(): tests build many apps, whose
    cycles must stay collectable."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
