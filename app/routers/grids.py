"""/api/v4/grids/: grids and their packages. Features, cells and the table: grid_table.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel

from app.cache import tags
from app.cache.tags import cache_as
from app.conditional import check_preconditions, created, json_response
from app.deps import LinksDep, ListPageDep, SessionDep
from app.errors import READ_ERRORS, WRITE_ERRORS, error_responses
from app.links import Links
from app.models import Grid, GridPackage
from app.pagination import paginated
from app.repositories.grids import GridRepository
from app.repositories.packages import ORDERING_FIELDS as PACKAGE_ORDERINGS
from app.repositories.packages import PackageRepository
from app.routers.package_filters import FactFiltersDep
from app.routers.params import Key, Write, WriteDep, ordering_query
from app.routers.titled import TitledListDep, titled_page
from app.schemas.grid import GridIn, GridOut, GridPatch, MembershipIn, MembershipOut
from app.schemas.package import PackageOut, package_fields
from app.schemas.page import Page
from app.services.grids import GridService, may_edit

router = APIRouter(prefix="/grids", tags=["grids"])

PackageKey = Annotated[str, Path(description="The package's id or slug.")]


@dataclass(frozen=True, slots=True)
class GridRead:
    """A read of a grid or of a part of it: the grid (404 without it), the repository its
    parts are read from, the hyperlinks they are rendered with."""

    grid: Grid
    repository: GridRepository
    links: Links

    def answer(self, request: Request, body: BaseModel) -> Response:
        """`body`, cached until the grid (its fields, packages, features or cells) changes."""
        cache_as(request, [tags.grid(self.grid.id)])
        return json_response(request, body)


async def grid_read(key: Key, session: SessionDep, links: LinksDep) -> GridRead:
    repository = GridRepository(session)
    return GridRead(await repository.get(key), repository, links)


GridReadDep = Annotated[GridRead, Depends(grid_read)]


async def grid_membership(read: GridReadDep, package: PackageKey) -> GridPackage:
    """The grid's membership of the package, 404 without it."""
    return await read.repository.get_membership(read.grid, package)


MembershipDep = Annotated[GridPackage, Depends(grid_membership)]


@router.get("/", response_model=Page[GridOut], responses=error_responses(400, 503))
async def list_grids(request: Request, query: TitledListDep) -> Response:
    return await titled_page(request, query, GridRepository, GridOut.of)


@router.post("/", status_code=201, response_model=GridOut, responses=WRITE_ERRORS)
async def create_grid(request: Request, body: GridIn, write: WriteDep) -> Response:
    grid = await GridService(write.session).create(body, write.links, write.token)
    return created(request, GridOut.of(grid, write.links), write.links.grid(grid.id))


@router.get("/{key}/", response_model=GridOut, responses=READ_ERRORS)
async def get_grid(request: Request, read: GridReadDep) -> Response:
    return read.answer(request, GridOut.of(read.grid, read.links))


async def _update(request: Request, key: str, changes: dict[str, Any], write: Write) -> Response:
    """PUT and PATCH: lock the row, check rights and If-Match, apply, answer the grid."""
    grid = await GridRepository(write.session).get(key, for_update=True)
    locking = changes.get("is_locked", grid.is_locked) != grid.is_locked
    may_edit(grid, write.token, locking=locking)
    check_preconditions(request, GridOut.of(grid, write.links))
    await GridService(write.session).update(grid, changes, write.links)
    return json_response(request, GridOut.of(grid, write.links))


@router.put("/{key}/", response_model=GridOut, responses=WRITE_ERRORS)
async def replace_grid(request: Request, key: Key, body: GridIn, write: WriteDep) -> Response:
    """Replace the grid's fields; its packages too when `packages` is given."""
    return await _update(request, key, body.changes(), write)


@router.patch("/{key}/", response_model=GridOut, responses=WRITE_ERRORS)
async def patch_grid(request: Request, key: Key, body: GridPatch, write: WriteDep) -> Response:
    return await _update(request, key, body.changes(), write)


@router.delete("/{key}/", status_code=204, responses=WRITE_ERRORS)
async def delete_grid(request: Request, key: Key, write: WriteDep) -> Response:
    service = GridService(write.session)
    grid = await service.editable(key, write.token)
    check_preconditions(request, GridOut.of(grid, write.links))
    await service.delete(grid)
    return Response(status_code=204)


# The grid's packages (membership).


@router.get("/{key}/packages/", response_model=Page[PackageOut], responses=READ_ERRORS)
async def list_grid_packages(
    request: Request,
    key: Key,
    session: SessionDep,
    links: LinksDep,
    page: ListPageDep,
    facts: FactFiltersDep,
    ordering: Annotated[
        str | None,
        ordering_query("As the package list's `ordering`. Default `-id`.", PACKAGE_ORDERINGS),
    ] = None,
) -> Response:
    """The grid's packages, as `/api/v4/packages/?grid=KEY` lists them."""
    grid = await GridRepository(session).get(key)
    listing = await PackageRepository(session).list_page(
        page, grid_id=grid.id, ordering=ordering, facts=facts
    )
    results = [package_fields(row, links, grid_ids) for row, grid_ids in listing.rows]
    if not facts.change_with_time:  # which packages an activity status keeps moves with time
        cache_as(request, [tags.ANY])
    return paginated(request, links.base, page, listing, results)


@router.post(
    "/{key}/packages/", status_code=201, response_model=MembershipOut, responses=WRITE_ERRORS
)
async def add_grid_package(
    request: Request, key: Key, body: MembershipIn, write: WriteDep
) -> Response:
    service = GridService(write.session)
    grid = await service.editable(key, write.token)
    membership = await service.add_package(grid, body.package, write.links)
    return created(
        request,
        MembershipOut.of(membership, write.links),
        write.links.membership(grid.id, membership.package_id),
    )


@router.get("/{key}/packages/{package}/", response_model=MembershipOut, responses=READ_ERRORS)
async def get_grid_package(
    request: Request, read: GridReadDep, membership: MembershipDep
) -> Response:
    return read.answer(request, MembershipOut.of(membership, read.links))


@router.delete("/{key}/packages/{package}/", status_code=204, responses=WRITE_ERRORS)
async def remove_grid_package(
    request: Request, key: Key, package: PackageKey, write: WriteDep
) -> Response:
    """Takes the package out of the grid, with its cells; the package itself stays."""
    service = GridService(write.session)
    grid = await service.editable(key, write.token)
    membership = await service.grids.get_membership(grid, package)
    check_preconditions(request, MembershipOut.of(membership, write.links))
    await service.remove_membership(membership)
    return Response(status_code=204)
