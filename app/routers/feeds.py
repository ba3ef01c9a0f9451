"""/feeds/: Atom feeds of new packages (and releases), for people and feed readers (app/feeds/)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.conditional import bytes_response
from app.deps import LinksDep, SessionDep
from app.errors import NotFound, error_responses
from app.feeds import ATOM_MEDIA_TYPE
from app.feeds.directory import package_feed
from app.repositories.base import id_of
from app.repositories.categories import CategoryRepository
from app.repositories.feeds import FEED_ENTRIES, newest_members, newest_packages, newest_releases
from app.repositories.grids import GridRepository
from app.routers.params import Key

router = APIRouter(prefix="/feeds", tags=["feeds"])

# Feed readers poll; a minute keeps a burst of them off the database.
FEED_CACHE_CONTROL = "public, max-age=60"
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {ATOM_MEDIA_TYPE: {}}, "description": "An Atom 1.0 feed."},
    304: {"description": "Not modified (If-None-Match)."},
    **error_responses(400, 404, 503),
}


def _atom(request: Request, body: bytes) -> Response:
    return bytes_response(
        request, body, media_type=ATOM_MEDIA_TYPE, cache_control=FEED_CACHE_CONTROL
    )


@router.get(
    "/packages.atom",
    response_class=Response,
    responses=_RESPONSES,
    summary="New packages and releases",
)
async def packages_feed(request: Request, session: SessionDep, links: LinksDep) -> Response:
    """The directory's newest packages and new releases (a package's PyPI version
    changing), newest first (50). A release's entry is published at its PyPI upload date
    when known, and updated when the directory learnt of it."""
    packages = await newest_packages(session)
    releases = await newest_releases(session)
    body = package_feed(
        links=links,
        path="/feeds/packages.atom",
        name="packages",
        title="New packages and releases",
        subtitle="Packages newly added to the directory, and their new versions on PyPI.",
        packages=packages,
        releases=releases,
        limit=FEED_ENTRIES,
        alternate=links.collection("packages"),
    )
    return _atom(request, body)


@router.get(
    "/grids/{key}.atom", response_class=Response, responses=_RESPONSES, summary="A grid's feed"
)
async def grid_feed(request: Request, key: Key, session: SessionDep, links: LinksDep) -> Response:
    """The packages most recently added to a grid (by slug or id), newest first (50)."""
    grid = await GridRepository(session).get(key)
    packages = await newest_members(session, grid.id)
    body = package_feed(
        links=links,
        path=f"/feeds/grids/{grid.slug}.atom",
        name=f"grids/{grid.id}",
        title=f"{grid.title}: new packages",
        subtitle=f"Packages added to the grid {grid.title}.",
        packages=packages,
        alternate=links.grid(grid.id),
        scope=f"grid/{grid.id}/",
        since=grid.created,
    )
    return _atom(request, body)


@router.get(
    "/categories/{key}.atom",
    response_class=Response,
    responses=_RESPONSES,
    summary="A category's feed",
)
async def category_feed(
    request: Request, key: Key, session: SessionDep, links: LinksDep
) -> Response:
    """The newest packages of a category (by id), newest first (50)."""
    if id_of(key) is None:
        raise NotFound(f"No category matches {key!r}; category feeds are named by id.")
    category = await CategoryRepository(session).get(key)
    packages = await newest_packages(session, category_id=category.id)
    body = package_feed(
        links=links,
        path=f"/feeds/categories/{category.id}.atom",
        name=f"categories/{category.id}",
        title=f"{category.title}: new packages",
        subtitle=f"Packages newly added to the category {category.title}.",
        packages=packages,
        alternate=links.category(category.id),
        since=category.created,
    )
    return _atom(request, body)
