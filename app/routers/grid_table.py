"""The comparison table of a grid: its features (rows), elements (cells) and the table view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from app.cache import tags
from app.cache.tags import cache_as
from app.conditional import check_preconditions, created, json_response
from app.deps import LinksDep, SessionDep
from app.errors import READ_ERRORS, WRITE_ERRORS, NotFound
from app.models import Element, Feature, Grid, GridPackage
from app.repositories.grids import GridRepository
from app.routers.grids import GridReadDep, PackageKey
from app.routers.params import Key, Write, WriteDep
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


async def grid_feature(read: GridReadDep, feature_id: FeatureId) -> Feature:
    """The grid's feature, 404 without it."""
    return await read.repository.get_feature(read.grid, feature_id)


FeatureDep = Annotated[Feature, Depends(grid_feature)]


@router.get("/{key}/table/", response_model=GridTable, responses=READ_ERRORS)
async def get_grid_table(request: Request, read: GridReadDep) -> Response:
    """The comparison table: one row per feature, one column per package, each cell's text."""
    grid, links = read.grid, read.links
    packages, features, cells = await read.repository.table(grid)
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
async def list_features(request: Request, read: GridReadDep) -> Response:
    """All of the grid's features, oldest first (a grid has tens, not thousands)."""
    features = await read.repository.list_features(read.grid)
    return read.answer(request, FeatureList([FeatureOut.of(f, read.links) for f in features]))


@router.post("/{key}/features/", status_code=201, response_model=FeatureOut, responses=WRITE_ERRORS)
async def create_feature(request: Request, key: Key, body: FeatureIn, write: WriteDep) -> Response:
    service = GridService(write.session)
    grid = await service.editable(key, write.token)
    feature = await service.create_feature(grid, body)
    return created(
        request, FeatureOut.of(feature, write.links), write.links.feature(grid.id, feature.id)
    )


@router.get("/{key}/features/{feature_id}/", response_model=FeatureOut, responses=READ_ERRORS)
async def get_feature(request: Request, read: GridReadDep, feature: FeatureDep) -> Response:
    return read.answer(request, FeatureOut.of(feature, read.links))


async def _editable_feature(
    request: Request, service: GridService, key: str, feature_id: str, write: Write
) -> Feature:
    """The feature, row-locked, of a grid the token may edit, if the preconditions hold."""
    grid = await service.editable(key, write.token)
    feature = await service.grids.get_feature(grid, feature_id, for_update=True)
    check_preconditions(request, FeatureOut.of(feature, write.links))
    return feature


async def _update_feature(
    request: Request, key: str, feature_id: str, changes: dict[str, Any], write: Write
) -> Response:
    service = GridService(write.session)
    feature = await _editable_feature(request, service, key, feature_id, write)
    await service.update_feature(feature, changes)
    return json_response(request, FeatureOut.of(feature, write.links))


@router.put("/{key}/features/{feature_id}/", response_model=FeatureOut, responses=WRITE_ERRORS)
async def replace_feature(
    request: Request, key: Key, feature_id: FeatureId, body: FeatureIn, write: WriteDep
) -> Response:
    return await _update_feature(request, key, feature_id, body.changes(), write)


@router.patch("/{key}/features/{feature_id}/", response_model=FeatureOut, responses=WRITE_ERRORS)
async def patch_feature(
    request: Request, key: Key, feature_id: FeatureId, body: FeaturePatch, write: WriteDep
) -> Response:
    return await _update_feature(request, key, feature_id, body.changes(), write)


@router.delete("/{key}/features/{feature_id}/", status_code=204, responses=WRITE_ERRORS)
async def delete_feature(
    request: Request, key: Key, feature_id: FeatureId, write: WriteDep
) -> Response:
    service = GridService(write.session)
    feature = await _editable_feature(request, service, key, feature_id, write)
    await service.delete_feature(feature)
    return Response(status_code=204)


# Elements: the table's cells, addressed by feature and package.

ELEMENT_PATH = "/{key}/features/{feature_id}/elements/{package}/"


@dataclass(frozen=True, slots=True)
class Cell:
    """The address of a cell: the grid's key, the feature's id, the package's key."""

    key: str
    feature_id: str
    package: str

    async def find(
        self, repository: GridRepository, grid: Grid
    ) -> tuple[Feature, GridPackage, Element | None]:
        """Its row (feature), column (membership) and text, if any: 404 without both."""
        return await repository.find_cell(grid, self.feature_id, self.package)


async def cell_address(key: Key, feature_id: FeatureId, package: PackageKey) -> Cell:
    return Cell(key, feature_id, package)


CellDep = Annotated[Cell, Depends(cell_address)]


@router.get(ELEMENT_PATH, response_model=ElementOut, responses=READ_ERRORS)
async def get_element(
    request: Request, cell: CellDep, session: SessionDep, links: LinksDep
) -> Response:
    repository = GridRepository(session)
    grid = await repository.get(cell.key)
    feature, membership, element = await cell.find(repository, grid)
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
    request: Request, cell: CellDep, body: ElementIn, write: WriteDep
) -> Response:
    """Write a cell: 201 when it was empty, 200 when it replaced a text.

    `If-None-Match: *` writes only an empty cell; `If-Match` only the version you read.
    """
    service = GridService(write.session)
    grid = await service.editable(cell.key, write.token)
    feature, membership, current = await cell.find(service.grids, grid)
    check_preconditions(
        request,
        ElementOut.of(current, feature, membership.package_id, write.links) if current else None,
    )
    element, created = await service.put_element(feature, membership, body.text)
    return json_response(
        request,
        ElementOut.of(element, feature, membership.package_id, write.links),
        status_code=201 if created else 200,
    )


@router.delete(ELEMENT_PATH, status_code=204, responses=WRITE_ERRORS)
async def delete_element(request: Request, cell: CellDep, write: WriteDep) -> Response:
    service = GridService(write.session)
    grid = await service.editable(cell.key, write.token)
    feature, membership, element = await cell.find(service.grids, grid)
    if element is None:
        raise NotFound("Nothing is written for this package and feature.")
    rendered = ElementOut.of(element, feature, membership.package_id, write.links)
    check_preconditions(request, rendered)
    await service.delete_element(element)
    return Response(status_code=204)
