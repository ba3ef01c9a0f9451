"""The comparison table of a grid: its features (rows), elements (cells) and the table view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from app.cache import tags
from app.cache.tags import cache_as
from app.conditional import check_preconditions, created, json_response
from app.deps import LinksDep, SessionDep, WriteToken
from app.errors import READ_ERRORS, WRITE_ERRORS, NotFound
from app.models import ApiToken, Feature
from app.repositories.grids import GridRepository
from app.routers.grids import PackageKey
from app.routers.params import Key
from app.schemas.grid import (
    ElementIn,
    ElementOut,
    FeatureIn,
    FeatureList,
    FeatureOut,
    FeaturePatch,
    GridTable,
    TableFeature,
    TablePackage,
)
from app.services.grids import GridService

router = APIRouter(prefix="/grids", tags=["grid table"])

# Text, read by the one id rule (ASCII digits): "+1" or "1_0" name no feature (404).
FeatureId = Annotated[str, Path(description="The feature's id.")]


@router.get("/{key}/table/", response_model=GridTable, responses=READ_ERRORS)
async def get_grid_table(
    request: Request, key: Key, session: SessionDep, links: LinksDep
) -> Response:
    """The comparison table: one row per feature, one column per package, each cell's text."""
    repository = GridRepository(session)
    grid = await repository.get(key)
    packages, features, cells = await repository.table(grid)
    # Its cells, features and members are the grid's; its columns, each package's row.
    cache_as(request, [tags.grid(grid.id), *(tags.package(package.id) for package in packages)])
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
    cache_as(request, [tags.grid(grid.id)])
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
    service = GridService(session)
    grid = await service.editable(key, token)
    feature = await service.create_feature(grid, body)
    return created(request, FeatureOut.of(feature, links), links.feature(grid.id, feature.id))


@router.get("/{key}/features/{feature_id}/", response_model=FeatureOut, responses=READ_ERRORS)
async def get_feature(
    request: Request, key: Key, feature_id: FeatureId, session: SessionDep, links: LinksDep
) -> Response:
    repository = GridRepository(session)
    grid = await repository.get(key)
    feature = await repository.get_feature(grid, feature_id)
    cache_as(request, [tags.grid(grid.id)])
    return json_response(request, FeatureOut.of(feature, links))


async def _editable_feature(
    request: Request,
    service: GridService,
    key: str,
    feature_id: str,
    links: LinksDep,
    token: ApiToken,
) -> Feature:
    """The feature, row-locked, of a grid the token may edit, if the preconditions hold."""
    grid = await service.editable(key, token)
    feature = await service.grids.get_feature(grid, feature_id, for_update=True)
    check_preconditions(request, FeatureOut.of(feature, links))
    return feature


async def _update_feature(
    request: Request,
    key: str,
    feature_id: str,
    changes: dict[str, Any],
    session: SessionDep,
    links: LinksDep,
    token: ApiToken,
) -> Response:
    service = GridService(session)
    feature = await _editable_feature(request, service, key, feature_id, links, token)
    await service.update_feature(feature, changes)
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
    service = GridService(session)
    feature = await _editable_feature(request, service, key, feature_id, links, token)
    await service.delete_feature(feature)
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
    feature, membership, element = await repository.find_cell(grid, feature_id, package)
    if element is None:
        raise NotFound("Nothing is written for this package and feature yet.")
    cache_as(request, [tags.grid(grid.id)])
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
    service = GridService(session)
    grid = await service.editable(key, token)
    feature, membership, current = await service.grids.find_cell(grid, feature_id, package)
    check_preconditions(
        request,
        ElementOut.of(current, feature, membership.package_id, links) if current else None,
    )
    element, created = await service.put_element(feature, membership, body.text)
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
    service = GridService(session)
    grid = await service.editable(key, token)
    feature, membership, element = await service.grids.find_cell(grid, feature_id, package)
    if element is None:
        raise NotFound("Nothing is written for this package and feature.")
    check_preconditions(request, ElementOut.of(element, feature, membership.package_id, links))
    await service.delete_element(element)
    return Response(status_code=204)
