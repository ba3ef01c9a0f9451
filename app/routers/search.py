"""/api/v4/search/: packages and grids ranked for a query (djangopackages' SearchV3 rows).

Without `limit`/`offset` it answers as the original does: the best 20 as a bare array.
With either, a DRF LimitOffset page like every other list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import RootModel

from app.cache import tags
from app.cache.tags import cache_as
from app.conditional import json_response
from app.deps import LinksDep, PageDep, SessionDep
from app.errors import error_responses
from app.links import Links
from app.pagination import ListPage, PageRequest, paginated
from app.repositories.search import ITEM_TYPES, MAX_QUERY_LENGTH, SearchHit, SearchRepository
from app.routers.package_filters import FactFiltersDep
from app.routers.params import choices
from app.schemas.page import Page
from app.schemas.search import SearchResult

router = APIRouter(prefix="/search", tags=["search"])

# The original's answer: `search_function(q)[:20]`, unpaginated.
TOP = 20


class SearchResults(RootModel[list[SearchResult]]):
    pass


def _result(hit: SearchHit, links: Links) -> SearchResult:
    url = links.package(hit.id) if hit.item_type == "package" else links.grid(hit.id)
    return SearchResult.model_validate({**{k: getattr(hit, k) for k in hit.__slots__}, "url": url})


@router.get(
    "/",
    response_model=list[SearchResult] | Page[SearchResult],
    responses=error_responses(400, 503),
    summary="Search packages and grids",
)
async def search(
    request: Request,
    session: SessionDep,
    links: LinksDep,
    page: PageDep,
    facts: FactFiltersDep,
    q: Annotated[
        str | None,
        Query(
            description=f"Words, a prefix, or a name with typos; at most {MAX_QUERY_LENGTH} "
            'characters. PostgreSQL also reads "quoted phrases", `or` and `-word`.',
            json_schema_extra={"maxLength": MAX_QUERY_LENGTH, "pattern": "^[^\\u0000]*$"},
        ),
    ] = None,
    item_type: Annotated[
        str | None,
        Query(description="`package` or `grid`.", json_schema_extra=choices(*ITEM_TYPES)),
    ] = None,
    category: Annotated[str | None, Query(description="Category id or slug.")] = None,
) -> Response:
    """Best first. An empty or punctuation-only `q` finds nothing (an empty list).
    `django`, `python` and `status` keep packages only (grids have no versions)."""
    paged = "limit" in request.query_params or "offset" in request.query_params
    wanted = page if paged else PageRequest(limit=TOP, offset=0)
    total, hits = await SearchRepository(session).search(
        q, wanted, item_type=item_type, category=category, facts=facts
    )
    results = [_result(hit, links) for hit in hits]
    if not facts.change_with_time:  # which packages an activity status keeps moves with time
        cache_as(request, [tags.ANY])
    if paged:
        return paginated(request, links.base, page, ListPage(total, hits), results)
    return json_response(request, SearchResults(results))
