"""GET /api/v4/: where each collection lives, as DRF's DefaultRouter answers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.cache.tags import cache_as
from app.conditional import json_response
from app.deps import LinksDep
from app.errors import error_responses
from app.schemas.root import ApiRoot

router = APIRouter(tags=["root"])


@router.get(
    "/", response_model=ApiRoot, responses=error_responses(400), summary="List the resource URLs"
)
async def api_root(request: Request, links: LinksDep) -> Response:
    cache_as(request, [])  # the same answer until a new version is deployed
    return json_response(
        request,
        ApiRoot(
            categories=links.collection("categories"),
            grids=links.collection("grids"),
            packages=links.collection("packages"),
        ),
    )
