"""/api/v4/categories/: list, detail by id or slug, and writes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.cache import tags
from app.cache.tags import cache_as
from app.conditional import check_preconditions, created, json_response
from app.deps import LinksDep, ListPageDep, SessionDep, WriteToken
from app.errors import READ_ERRORS, WRITE_ERRORS, error_responses
from app.pagination import paginated
from app.repositories.categories import ORDERING_FIELDS, CategoryRepository
from app.routers.params import Key, ModifiedSince, ordering_pattern, parse_instant
from app.schemas.category import CategoryIn, CategoryOut, CategoryPatch
from app.schemas.page import Page
from app.services.categories import CategoryService

router = APIRouter(prefix="/categories", tags=["categories"])


@router.get("/", response_model=Page[CategoryOut], responses=error_responses(400, 503))
async def list_categories(
    request: Request,
    session: SessionDep,
    links: LinksDep,
    page: ListPageDep,
    ordering: Annotated[
        str | None,
        Query(
            description="id or title, `-` for descending. Default `-id`.",
            json_schema_extra=ordering_pattern(ORDERING_FIELDS),
        ),
    ] = None,
    modified_since: ModifiedSince = None,
) -> Response:
    listing = await CategoryRepository(session).list_page(
        page, ordering=ordering, modified_since=parse_instant(modified_since, "modified_since")
    )
    cache_as(request, [tags.ANY])
    return paginated(
        request, links.base, page, listing, [CategoryOut.of(c, links) for c in listing.rows]
    )


@router.post("/", status_code=201, response_model=CategoryOut, responses=WRITE_ERRORS)
async def create_category(
    request: Request, body: CategoryIn, session: SessionDep, links: LinksDep, _token: WriteToken
) -> Response:
    category = await CategoryService(session).create(body)
    return created(request, CategoryOut.of(category, links), links.category(category.id))


@router.get("/{key}/", response_model=CategoryOut, responses=READ_ERRORS)
async def get_category(
    request: Request, key: Key, session: SessionDep, links: LinksDep
) -> Response:
    category = await CategoryRepository(session).get(key)
    cache_as(request, [tags.category(category.id)])
    return json_response(request, CategoryOut.of(category, links))


async def _update(
    request: Request, key: str, changes: dict[str, Any], session: SessionDep, links: LinksDep
) -> Response:
    """PUT and PATCH: lock the row, check If-Match, apply, answer the new representation."""
    category = await CategoryRepository(session).get(key, for_update=True)
    check_preconditions(request, CategoryOut.of(category, links))
    await CategoryService(session).update(category, changes)
    return json_response(request, CategoryOut.of(category, links))


@router.put("/{key}/", response_model=CategoryOut, responses=WRITE_ERRORS)
async def replace_category(
    request: Request,
    key: Key,
    body: CategoryIn,
    session: SessionDep,
    links: LinksDep,
    _token: WriteToken,
) -> Response:
    return await _update(request, key, body.changes(), session, links)


@router.patch("/{key}/", response_model=CategoryOut, responses=WRITE_ERRORS)
async def patch_category(
    request: Request,
    key: Key,
    body: CategoryPatch,
    session: SessionDep,
    links: LinksDep,
    _token: WriteToken,
) -> Response:
    return await _update(request, key, body.changes(), session, links)


@router.delete("/{key}/", status_code=204, responses=WRITE_ERRORS)
async def delete_category(
    request: Request, key: Key, session: SessionDep, links: LinksDep, _token: WriteToken
) -> Response:
    """Refused with 409 while any package is in the category."""
    category = await CategoryRepository(session).get(key, for_update=True)
    check_preconditions(request, CategoryOut.of(category, links))
    await CategoryService(session).delete(category)
    return Response(status_code=204)
