"""The least FastAPI costs: routing, Request, Response, around bench/baseline.py's own work.

    BASELINE_DATABASE_URL=postgresql://... uv run uvicorn bench.fastapi_floor:app --port 8783

The baseline's two routes, its pool (BASELINE_POOL_SIZE, the `jsonb` codec), its SQL and
its JSON, imported from bench/baseline.py, served by a FastAPI app instead of a raw ASGI
callable. Nothing else: no middleware, no SQLAlchemy, no dependency but the Request, no
validation, no OpenAPI or docs routes, FastAPI's native OpenTelemetry off. bench/api.py
runs it next to the baseline, so the gap between the two is what the framework alone
costs, and the gap between it and the service is what our own layers cost.

The answers are the baseline's byte for byte (same Host header): the same 404 body, and
no redirect for a missing trailing slash, since the baseline has none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI, Request, Response

from bench.baseline import NOT_FOUND, PREFIX, api_root, list_page, open_pool, package_detail

JSON = "application/json"


@dataclass
class _Database:
    pool: asyncpg.Pool | None = None
    list_sql: str = ""


async def _not_found(_request: Request, _error: Exception) -> Response:
    return Response(NOT_FOUND, status_code=404, media_type=JSON)


def create_app() -> FastAPI:
    # A closure rather than app.state: the baseline reads its pool from an attribute too.
    database = _Database()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        database.pool, database.list_sql = await open_pool()
        try:
            yield
        finally:
            await database.pool.close()

    app = FastAPI(
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        exception_handlers={404: _not_found},
    )

    @app.get(PREFIX)
    async def packages(request: Request) -> Response:
        assert database.pool is not None
        api = api_root(request.headers.get("host", "localhost"))
        # Starlette's query parsing keeps blank values and the last of repeated keys, as
        # the baseline's dict(parse_qsl(..., keep_blank_values=True)) does.
        query = dict(request.query_params)
        status, body = await list_page(database.pool, database.list_sql, api, query)
        return Response(body, status_code=status, media_type=JSON)

    @app.get(PREFIX + "{key}/")
    async def package(request: Request) -> Response:
        assert database.pool is not None
        api = api_root(request.headers.get("host", "localhost"))
        status, body = await package_detail(database.pool, api, request.path_params["key"])
        return Response(body, status_code=status, media_type=JSON)

    return app


app = create_app()
