"""The application: create_app() and the lifespan that owns the engine and sessionmaker."""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from app.config import Settings, get_settings
from app.db import create_engine, create_sessionmaker, sqlite_writers
from app.docs import install_docs
from app.errors import install_error_handlers
from app.links import API_PREFIX
from app.middleware import BodyLimitMiddleware, MethodsMiddleware
from app.observability import install_observability
from app.openapi import DESCRIPTION, TAGS, TITLE, app_version, install_openapi, operation_id
from app.ratelimit import add_write_rate_limits
from app.refresh.lifespan import refresher_lifespan
from app.request_limits import check_request
from app.routers import categories, grid_table, grids, lookup, packages, refresh, root
from app.routers import search as search_router  # search: GET /api/v4/search/


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    # SQLite: the process's writers (requests and the refresher) queue in one line.
    app.state.sqlite_writers = sqlite_writers(settings)
    try:
        # The metrics refresher (app/refresh/): its forges, its loop, its clean stop.
        async with refresher_lifespan(app):
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
    for module in (root, packages, categories, grids, grid_table, refresh, lookup):
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
    app.state.settings = settings
    app.include_router(api_router())
    install_error_handlers(app)
    # OpenAPI document and docs pages (app.openapi, app.docs).
    install_openapi(app)
    plain_get_paths = [path for path in [app.openapi_url] if path is not None]
    plain_get_paths += install_docs(app)
    app.add_middleware(MethodsMiddleware, openapi=app.openapi, plain_get_paths=plain_get_paths)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Optional write rate limits (app.ratelimit): before the body is read or a token checked.
    add_write_rate_limits(app, settings)
    # Logs, metrics, probes, proxy, CORS, security headers, gzip: last, so outermost.
    install_observability(app, settings)
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
