"""/api/v4/grids/: grids, their packages, features and elements, and the comparison table."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from app.auth import can_admin
from app.conditional import check_preconditions, json_response
from app.deps import LinksDep, PageDep, SessionDep, WriteToken
from app.errors import READ_ERRORS, WRITE_ERRORS, Forbidden, NotFound, error_responses
from app.models import ApiToken, Grid
from app.pagination import paginated
from app.repositories.grids import GridRepository
from app.repositories.packages import PackageRepository
from app.routers.params import Key
from app.schemas.grid import (
    ElementIn,
    ElementOut,
    FeatureIn,
    FeatureList,
    FeatureOut,
    FeaturePatch,
    GridIn,
    GridOut,
    GridPatch,
    GridTable,
    MembershipIn,
    MembershipOut,
    TableFeature,
    TablePackage,
)
from app.schemas.package import PackageOut
from app.schemas.page import Page

router = APIRouter(prefix="/grids", tags=["grids"])

FeatureId = Annotated[int, Path(description="The feature's id.", ge=1)]
PackageKey = Annotated[str, Path(description="The package's id or slug.")]


def _may_edit(grid: Grid, token: ApiToken, *, locking: bool = False) -> None:
    """A locked grid, and the lock itself, are for admin tokens only.

    Callers read the grid FOR UPDATE, so an edit cannot slip past a lock being set.
    """
    if (grid.is_locked or locking) and not can_admin(token):
        what = "change whether a grid is locked" if locking else "edit a locked grid"
        raise Forbidden(f"Only a token with the 'admin' scope may {what}.")


async def _editable_grid(repository: GridRepository, key: str, token: ApiToken) -> Grid:
    """The grid, row-locked for this transaction, if the token may edit it."""
    grid = await repository.get(key, for_update=True)
    _may_edit(grid, token)
    return grid


@router.get("/", response_model=Page[GridOut], responses=error_responses(400))
async def list_grids(
    request: Request,
    session: SessionDep,
    links: LinksDep,
    page: PageDep,
    ordering: Annotated[
        str | None, Query(description="id or title, `-` for descending. Default `-id`.")
    ] = None,
) -> Response:
    total, grids = await GridRepository(session).list_page(page, ordering=ordering)
    return paginated(request, links.base, page, total, [GridOut.of(g, links) for g in grids])


@router.post("/", status_code=201, response_model=GridOut, responses=WRITE_ERRORS)
async def create_grid(
    request: Request, body: GridIn, session: SessionDep, links: LinksDep, token: WriteToken
) -> Response:
    if body.is_locked and not can_admin(token):
        raise Forbidden("Only a token with the 'admin' scope may create a locked grid.")
    grid = await GridRepository(session).create(body, links)
    return json_response(
        request, GridOut.of(grid, links), status_code=201, headers={"Location": links.grid(grid.id)}
    )


@router.get("/{key}/", response_model=GridOut, responses=READ_ERRORS)
async def get_grid(request: Request, key: Key, session: SessionDep, links: LinksDep) -> Response:
    grid = await GridRepository(session).get(key)
    return json_response(request, GridOut.of(grid, links))


async def _update(
    request: Request,
    key: str,
    changes: dict[str, Any],
    session: SessionDep,
    links: LinksDep,
    token: ApiToken,
) -> Response:
    """PUT and PATCH: lock the row, check rights and If-Match, apply, answer the grid."""
    repository = GridRepository(session)
    grid = await repository.get(key, for_update=True)
    locking = changes.get("is_locked", grid.is_locked) != grid.is_locked
    _may_edit(grid, token, locking=locking)
    check_preconditions(request, GridOut.of(grid, links))
    await repository.update(grid, changes, links)
    return json_response(request, GridOut.of(grid, links))


@router.put("/{key}/", response_model=GridOut, responses=WRITE_ERRORS)
async def replace_grid(
    request: Request,
    key: Key,
    body: GridIn,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    """Replace the grid's fields; its packages too when `packages` is given."""
    return await _update(request, key, body.changes(), session, links, token)


@router.patch("/{key}/", response_model=GridOut, responses=WRITE_ERRORS)
async def patch_grid(
    request: Request,
    key: Key,
    body: GridPatch,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    return await _update(request, key, body.changes(), session, links, token)


@router.delete("/{key}/", status_code=204, responses=WRITE_ERRORS)
async def delete_grid(
    request: Request, key: Key, session: SessionDep, links: LinksDep, token: WriteToken
) -> Response:
    repository = GridRepository(session)
    grid = await _editable_grid(repository, key, token)
    check_preconditions(request, GridOut.of(grid, links))
    await repository.delete(grid)
    return Response(status_code=204)


@router.get("/{key}/table/", response_model=GridTable, responses=READ_ERRORS)
async def get_grid_table(
    request: Request, key: Key, session: SessionDep, links: LinksDep
) -> Response:
    """The comparison table: one row per feature, one column per package, each cell's text."""
    repository = GridRepository(session)
    grid = await repository.get(key)
    packages, features, cells = await repository.table(grid)
    table = GridTable(
        grid=links.grid(grid.id),
        title=grid.title,
        packages=[TablePackage.of(package, links) for package in packages],
        features=[
            TableFeature(
                id=feature.id,
                url=links.feature(grid.id, feature.id),
                title=feature.title,
                description=feature.description,
                elements=[cells.get((feature.id, package.id)) for package in packages],
            )
            for feature in features
        ],
    )
    return json_response(request, table)


# The grid's packages (membership).


@router.get("/{key}/packages/", response_model=Page[PackageOut], responses=READ_ERRORS)
async def list_grid_packages(
    request: Request,
    key: Key,
    session: SessionDep,
    links: LinksDep,
    page: PageDep,
) -> Response:
    """The grid's packages, as `/api/v4/packages/?grid=KEY` lists them."""
    grid = await GridRepository(session).get(key)
    total, packages = await PackageRepository(session).list_page(page, grid=str(grid.id))
    return paginated(request, links.base, page, total, [PackageOut.of(p, links) for p in packages])


@router.post(
    "/{key}/packages/", status_code=201, response_model=MembershipOut, responses=WRITE_ERRORS
)
async def add_grid_package(
    request: Request,
    key: Key,
    body: MembershipIn,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    repository = GridRepository(session)
    grid = await _editable_grid(repository, key, token)
    membership = await repository.add_package(grid, body.package, links)
    return json_response(
        request,
        MembershipOut.of(membership, links),
        status_code=201,
        headers={"Location": links.membership(grid.id, membership.package_id)},
    )


@router.get("/{key}/packages/{package}/", response_model=MembershipOut, responses=READ_ERRORS)
async def get_grid_package(
    request: Request, key: Key, package: PackageKey, session: SessionDep, links: LinksDep
) -> Response:
    repository = GridRepository(session)
    grid = await repository.get(key)
    membership = await repository.get_membership(grid, package)
    return json_response(request, MembershipOut.of(membership, links))


@router.delete("/{key}/packages/{package}/", status_code=204, responses=WRITE_ERRORS)
async def remove_grid_package(
    request: Request,
    key: Key,
    package: PackageKey,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    """Takes the package out of the grid, with its cells; the package itself stays."""
    repository = GridRepository(session)
    grid = await _editable_grid(repository, key, token)
    membership = await repository.get_membership(grid, package)
    check_preconditions(request, MembershipOut.of(membership, links))
    await repository.remove_membership(membership)
    return Response(status_code=204)


# Features: the table's rows.


@router.get("/{key}/features/", response_model=FeatureList, responses=READ_ERRORS)
async def list_features(
    request: Request, key: Key, session: SessionDep, links: LinksDep
) -> Response:
    """All of the grid's features, oldest first (a grid has tens, not thousands)."""
    repository = GridRepository(session)
    grid = await repository.get(key)
    features = await repository.list_features(grid)
    body = FeatureList([FeatureOut.of(feature, links) for feature in features])
    return json_response(request, body)


@router.post("/{key}/features/", status_code=201, response_model=FeatureOut, responses=WRITE_ERRORS)
async def create_feature(
    request: Request,
    key: Key,
    body: FeatureIn,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    repository = GridRepository(session)
    grid = await _editable_grid(repository, key, token)
    feature = await repository.create_feature(grid, body)
    return json_response(
        request,
        FeatureOut.of(feature, links),
        status_code=201,
        headers={"Location": links.feature(grid.id, feature.id)},
    )


@router.get("/{key}/features/{feature_id}/", response_model=FeatureOut, responses=READ_ERRORS)
async def get_feature(
    request: Request, key: Key, feature_id: FeatureId, session: SessionDep, links: LinksDep
) -> Response:
    repository = GridRepository(session)
    feature = await repository.get_feature(await repository.get(key), feature_id)
    return json_response(request, FeatureOut.of(feature, links))


async def _update_feature(
    request: Request,
    key: str,
    feature_id: int,
    changes: dict[str, Any],
    session: SessionDep,
    links: LinksDep,
    token: ApiToken,
) -> Response:
    repository = GridRepository(session)
    grid = await _editable_grid(repository, key, token)
    feature = await repository.get_feature(grid, feature_id, for_update=True)
    check_preconditions(request, FeatureOut.of(feature, links))
    await repository.update_feature(feature, changes)
    return json_response(request, FeatureOut.of(feature, links))


@router.put("/{key}/features/{feature_id}/", response_model=FeatureOut, responses=WRITE_ERRORS)
async def replace_feature(
    request: Request,
    key: Key,
    feature_id: FeatureId,
    body: FeatureIn,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    return await _update_feature(request, key, feature_id, body.changes(), session, links, token)


@router.patch("/{key}/features/{feature_id}/", response_model=FeatureOut, responses=WRITE_ERRORS)
async def patch_feature(
    request: Request,
    key: Key,
    feature_id: FeatureId,
    body: FeaturePatch,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    return await _update_feature(request, key, feature_id, body.changes(), session, links, token)


@router.delete("/{key}/features/{feature_id}/", status_code=204, responses=WRITE_ERRORS)
async def delete_feature(
    request: Request,
    key: Key,
    feature_id: FeatureId,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    repository = GridRepository(session)
    grid = await _editable_grid(repository, key, token)
    feature = await repository.get_feature(grid, feature_id, for_update=True)
    check_preconditions(request, FeatureOut.of(feature, links))
    await repository.delete_feature(feature)
    return Response(status_code=204)


# Elements: the table's cells, addressed by feature and package.

ELEMENT_PATH = "/{key}/features/{feature_id}/elements/{package}/"


@router.get(ELEMENT_PATH, response_model=ElementOut, responses=READ_ERRORS)
async def get_element(
    request: Request,
    key: Key,
    feature_id: FeatureId,
    package: PackageKey,
    session: SessionDep,
    links: LinksDep,
) -> Response:
    repository = GridRepository(session)
    grid = await repository.get(key)
    feature = await repository.get_feature(grid, feature_id)
    membership = await repository.get_membership(grid, package)
    element = await repository.get_element(feature, membership)
    if element is None:
        raise NotFound("Nothing is written for this package and feature yet.")
    return json_response(request, ElementOut.of(element, feature, membership.package_id, links))


@router.put(
    ELEMENT_PATH,
    response_model=ElementOut,
    responses={**WRITE_ERRORS, 201: {"model": ElementOut, "description": "Created."}},
)
async def put_element(
    request: Request,
    key: Key,
    feature_id: FeatureId,
    package: PackageKey,
    body: ElementIn,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    """Write a cell: 201 when it was empty, 200 when it replaced a text.

    `If-None-Match: *` writes only an empty cell; `If-Match` only the version you read.
    """
    repository = GridRepository(session)
    grid = await _editable_grid(repository, key, token)
    feature = await repository.get_feature(grid, feature_id)
    membership = await repository.get_membership(grid, package)
    current = await repository.get_element(feature, membership)
    check_preconditions(
        request,
        ElementOut.of(current, feature, membership.package_id, links) if current else None,
    )
    element, created = await repository.put_element(feature, membership, body.text)
    return json_response(
        request,
        ElementOut.of(element, feature, membership.package_id, links),
        status_code=201 if created else 200,
    )


@router.delete(ELEMENT_PATH, status_code=204, responses=WRITE_ERRORS)
async def delete_element(
    request: Request,
    key: Key,
    feature_id: FeatureId,
    package: PackageKey,
    session: SessionDep,
    links: LinksDep,
    token: WriteToken,
) -> Response:
    repository = GridRepository(session)
    grid = await _editable_grid(repository, key, token)
    feature = await repository.get_feature(grid, feature_id)
    membership = await repository.get_membership(grid, package)
    element = await repository.get_element(feature, membership)
    if element is None:
        raise NotFound("Nothing is written for this package and feature.")
    check_preconditions(request, ElementOut.of(element, feature, membership.package_id, links))
    await repository.delete_element(element)
    return Response(status_code=204)
