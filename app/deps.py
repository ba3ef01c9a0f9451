"""Annotated dependencies the routers declare: session, settings, links, page, tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import authenticate, bearer_scheme
from app.cache.tags import HORIZON_STATE
from app.conditional import LINK_BASE_STATE
from app.config import Settings
from app.links import Links, request_base_url
from app.models import ApiToken
from app.pagination import PageRequest, page_request
from app.request_session import get_session
from app.schemas.insights import Insight
from app.state import state_of


async def get_app_settings(request: Request) -> Settings:
    settings = state_of(request.app).settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# scope="function": the commit runs before the response is sent, so its failure is reported.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_links(request: Request, settings: SettingsDep) -> Links:
    links = Links(request_base_url(request, settings), Insight.of(settings))
    # ETags leave the hyperlinks' base out (see app.conditional).
    setattr(request.state, LINK_BASE_STATE, links.base)
    # Until when an answer rendered with these links reads the same (app.cache.middleware).
    setattr(request.state, HORIZON_STATE, links.insight.horizon)
    return links


# Strings, not ints: DRF reads a bad value as the default instead of refusing it.
Limit = Annotated[
    str | None,
    Query(description="Page size: default 20 (PAGE_SIZE), at most MAX_PAGE_SIZE (100)."),
]


async def get_page(
    settings: SettingsDep,
    limit: Limit = None,
    offset: Annotated[str | None, Query(description="How many results to skip.")] = None,
) -> PageRequest:
    return page_request(limit, offset, settings)


async def get_list_page(
    settings: SettingsDep,
    limit: Limit = None,
    offset: Annotated[
        str | None, Query(description="How many results to skip (ignored with `cursor`).")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            description="Cursor pages: send it empty (`?cursor=`) for the first one, then "
            "follow `next` and `previous`, which carry the opaque cursor of the page they "
            "name. A page reached by cursor costs what the first one costs, however deep. "
            "The `ordering` and filters must stay those of the first page; a cursor that "
            "was altered, or made for another list or ordering, is a 400. `offset` is "
            "ignored with it. (No example of a later cursor: one is valid only for the list "
            "and ordering it came from.)",
            openapi_examples={
                "first": {"summary": "The first cursor page", "value": ""},
            },
        ),
    ] = None,
) -> PageRequest:
    """A list's page: limit/offset as DRF, or by cursor when `cursor` is given."""
    return page_request(limit, offset, settings, cursor)


LinksDep = Annotated[Links, Depends(get_links)]
PageDep = Annotated[PageRequest, Depends(get_page)]
# Lists that can also be paged by cursor (packages, grids, categories).
ListPageDep = Annotated[PageRequest, Depends(get_list_page)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


async def require_write(request: Request, session: SessionDep, _: Credentials) -> ApiToken:
    return await authenticate(request, session, "write")


async def require_admin(request: Request, session: SessionDep, _: Credentials) -> ApiToken:
    return await authenticate(request, session, "admin")


WriteToken = Annotated[ApiToken, Depends(require_write)]
AdminToken = Annotated[ApiToken, Depends(require_admin)]
