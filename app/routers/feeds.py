"""/feeds/: Atom feeds of new packages (and releases), for people and feed readers (app/feeds/)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.types import DecoratedCallable

from app.conditional import bytes_response
from app.deps import LinksDep, SessionDep
from app.errors import NotFound, error_responses
from app.feeds import ATOM_MEDIA_TYPE
from app.feeds.directory import FeedPackage, package_feed
from app.links import Links
from app.models import Category, Grid
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


def _feed(path: str, summary: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A feed's route: an Atom document (or 304, 400, 404, 503)."""
    return router.get(path, response_class=Response, responses=_RESPONSES, summary=summary)


def _collection_feed(
    links: Links,
    resource: Literal["grids", "categories"],
    collection: Grid | Category,
    file: str,
    subtitle: str,
    packages: Sequence[FeedPackage],
    *,
    scope: str = "",
) -> bytes:
    """The feed of a grid's or a category's newest packages, at /feeds/RESOURCE/FILE.atom:
    its id names the grid or category by id, its alternate link is its API resource."""
    return package_feed(
        links=links,
        path=f"/feeds/{resource}/{file}.atom",
        name=f"{resource}/{collection.id}",
        title=f"{collection.title}: new packages",
        subtitle=subtitle,
        packages=packages,
        alternate=f"{links.collection(resource)}{collection.id}/",
        scope=scope,
        since=collection.created,
    )


def _atom(request: Request, body: bytes) -> Response:
    return bytes_response(
        request, body, media_type=ATOM_MEDIA_TYPE, cache_control=FEED_CACHE_CONTROL
    )


@_feed("/packages.atom", "New packages and releases")
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


@_feed("/grids/{key}.atom", "A grid's feed")
async def grid_feed(request: Request, key: Key, session: SessionDep, links: LinksDep) -> Response:
    """The packages most recently added to a grid (by slug or id), newest first (50)."""
    grid = await GridRepository(session).get(key)
    packages = await newest_members(session, grid.id)
    subtitle = f"Packages added to the grid {grid.title}."
    scope = f"grid/{grid.id}/"
    body = _collection_feed(links, "grids", grid, grid.slug, subtitle, packages, scope=scope)
    return _atom(request, body)


@_feed("/categories/{key}.atom", "A category's feed")
async def category_feed(
    request: Request, key: Key, session: SessionDep, links: LinksDep
) -> Response:
    """The newest packages of a category (by id), newest first (50)."""
    if id_of(key) is None:
        raise NotFound(f"No category matches {key!r}; category feeds are named by id.")
    category = await CategoryRepository(session).get(key)
    packages = await newest_packages(session, category_id=category.id)
    subtitle = f"Packages newly added to the category {category.title}."
    body = _collection_feed(links, "categories", category, str(category.id), subtitle, packages)
    return _atom(request, body)
