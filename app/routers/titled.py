"""The list of a titled resource (categories, grids), as both routers declare and answer it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import tags
from app.cache.tags import cache_as
from app.deps import LinksDep, ListPageDep, SessionDep
from app.links import Links
from app.pagination import PageRequest, paginated
from app.repositories.titled import TitledRepository
from app.routers.params import ModifiedSince, ordering_query, parse_instant

# Both order by the same two fields (each repository's ORDERING_FIELDS).
TITLED_ORDERING = ("id", "title")


@dataclass(frozen=True)
class TitledList:
    """The list's query: its page, `?ordering=` and `?modified_since=`; and the session it
    is read in, the hyperlinks its rows are rendered with."""

    session: AsyncSession
    links: Links
    page: PageRequest
    ordering: str | None
    modified_since: str | None


async def titled_list(
    session: SessionDep,
    links: LinksDep,
    page: ListPageDep,
    ordering: Annotated[
        str | None,
        ordering_query("id or title, `-` for descending. Default `-id`.", TITLED_ORDERING),
    ] = None,
    modified_since: ModifiedSince = None,
) -> TitledList:
    return TitledList(session, links, page, ordering, modified_since)


TitledListDep = Annotated[TitledList, Depends(titled_list)]


async def titled_page(
    request: Request,
    query: TitledList,
    repository: Callable[[AsyncSession], TitledRepository[Any]],
    render: Callable[[Any, Links], BaseModel],
) -> Response:
    """A page of the list, every one of its rows rendered."""
    links = query.links
    listing = await repository(query.session).list_page(
        query.page,
        ordering=query.ordering,
        modified_since=parse_instant(query.modified_since, "modified_since"),
    )
    cache_as(request, [tags.ANY])
    results = [render(row, links) for row in listing.rows]
    return paginated(request, links.base, query.page, listing, results)
