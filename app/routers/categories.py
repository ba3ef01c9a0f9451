"""/api/v4/categories/: list, detail by id or slug, and writes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from app.cache import tags
from app.cache.tags import cache_as
from app.conditional import created, json_response
from app.deps import LinksDep, SessionDep
from app.errors import READ_ERRORS, WRITE_ERRORS, error_responses
from app.repositories.categories import CategoryRepository
from app.routers.params import Key, Write, WriteDep
from app.routers.titled import TitledListDep, titled_page
from app.schemas.category import CategoryIn, CategoryOut, CategoryPatch
from app.schemas.page import Page
from app.services.categories import CategoryService

router = APIRouter(prefix="/categories", tags=["categories"])


@router.get("/", response_model=Page[CategoryOut], responses=error_responses(400, 503))
async def list_categories(request: Request, query: TitledListDep) -> Response:
    return await titled_page(request, query, CategoryRepository, CategoryOut.of)


@router.post("/", status_code=201, response_model=CategoryOut, responses=WRITE_ERRORS)
async def create_category(request: Request, body: CategoryIn, write: WriteDep) -> Response:
    category = await CategoryService(write.session).create(body)
    return created(
        request, CategoryOut.of(category, write.links), write.links.category(category.id)
    )


@router.get("/{key}/", response_model=CategoryOut, responses=READ_ERRORS)
async def get_category(
    request: Request, key: Key, session: SessionDep, links: LinksDep
) -> Response:
    category = await CategoryRepository(session).get(key)
    cache_as(request, [tags.category(category.id)])
    return json_response(request, CategoryOut.of(category, links))


async def _update(request: Request, key: str, changes: dict[str, Any], write: Write) -> Response:
    """PUT and PATCH: lock the row, check If-Match, apply, answer the new representation."""
    category = await write.locked(request, CategoryRepository, key, CategoryOut.of)
    await CategoryService(write.session).update(category, changes)
    return json_response(request, CategoryOut.of(category, write.links))


@router.put("/{key}/", response_model=CategoryOut, responses=WRITE_ERRORS)
async def replace_category(
    request: Request, key: Key, body: CategoryIn, write: WriteDep
) -> Response:
    return await _update(request, key, body.changes(), write)


@router.patch("/{key}/", response_model=CategoryOut, responses=WRITE_ERRORS)
async def patch_category(
    request: Request, key: Key, body: CategoryPatch, write: WriteDep
) -> Response:
    return await _update(request, key, body.changes(), write)


@router.delete("/{key}/", status_code=204, responses=WRITE_ERRORS)
async def delete_category(request: Request, key: Key, write: WriteDep) -> Response:
    """Refused with 409 while any package is in the category."""
    category = await write.locked(request, CategoryRepository, key, CategoryOut.of)
    await CategoryService(write.session).delete(category)
    return Response(status_code=204)
