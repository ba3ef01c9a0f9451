"""The application: create_app() and the lifespan that owns the engine and sessionmaker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from app.config import Settings, get_settings
from app.db import create_engine, create_sessionmaker
from app.errors import install_error_handlers
from app.links import API_PREFIX
from app.middleware import BodyLimitMiddleware, MethodsMiddleware
from app.refresh.lifespan import refresher_lifespan
from app.routers import categories, grid_table, grids, packages, refresh, root

DESCRIPTION = """
A package directory: packages, the categories they belong to, and grids that compare them.

Reads answer like [djangopackages.org](https://djangopackages.org)'s API v4: the same
resources, keys, `limit`/`offset` pages and hyperlinks. Writes need a bearer token
(`packages-api tokens create NAME --scope write`) and honour `If-Match` so no edit is lost.

Every error has the same body: `{status, code, detail, errors}`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    try:
        # The metrics refresher (app/refresh/): its forges, its loop, its clean stop.
        async with refresher_lifespan(app):
            yield
    finally:
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="packages-api",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Our own APPEND_SLASH (app.middleware) answers with a path-only Location instead.
        redirect_slashes=False,
        openapi_tags=[
            {"name": "packages", "description": "Packages and their repository and PyPI metrics."},
            {"name": "categories", "description": "What kind of thing a package is."},
            {"name": "grids", "description": "Comparison grids: packages by features."},
            {"name": "root", "description": "The API root."},
            {"name": "webhooks", "description": "Upstream events that trigger refreshes."},
        ],
    )
    app.state.settings = settings
    api = APIRouter(prefix=API_PREFIX)
    for module in (root, packages, categories, grids, grid_table, refresh):
        api.include_router(module.router)
    app.include_router(api)
    install_error_handlers(app)
    plain_get_paths = [
        path for path in (app.openapi_url, app.docs_url, app.redoc_url) if path is not None
    ]
    app.add_middleware(MethodsMiddleware, openapi=app.openapi, plain_get_paths=plain_get_paths)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app
