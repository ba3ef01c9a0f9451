"""Grid queries: the grid itself, its packages, features and elements, its table.

Writes, with their rules: app.services.grids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.errors import NotFound
from app.models import Element, Feature, Grid, GridPackage, Package
from app.repositories.base import (
    KeyedSelect,
    first_or_404,
    id_of,
    key_filter,
)
from app.repositories.titled import TitledRepository

ORDERING_FIELDS: dict[str, Any] = {"id": Grid.id, "title": Grid.title}

# In the same statement, as for packages (app.repositories.packages._GRID_IDS).
_MEMBER_IDS = joinedload(Grid.memberships).load_only(GridPackage.grid_id, GridPackage.package_id)
_BY_KEY = KeyedSelect(Grid, _MEMBER_IDS)


class GridRepository(TitledRepository[Grid]):
    model = Grid
    table_name = "grids"
    ordering_fields = ORDERING_FIELDS
    list_options = (_MEMBER_IDS,)
    ids_first = True

    async def get(self, key: str | int, *, for_update: bool = False) -> Grid:
        return await _BY_KEY.one(self.session, key, for_update=for_update)

    async def get_membership(self, grid: Grid, package_key: str) -> GridPackage:
        stmt = (
            select(GridPackage)
            .join(Package, Package.id == GridPackage.package_id)
            .where(GridPackage.grid_id == grid.id, key_filter(Package, package_key))
        )
        membership = await self.session.scalar(stmt)
        if membership is None:
            raise NotFound(f"Package {package_key!r} is not in grid {grid.slug!r}.")
        return membership

    # Features: the rows of the comparison table.

    async def list_features(self, grid: Grid) -> Sequence[Feature]:
        rows = await self.session.scalars(
            select(Feature).where(Feature.grid_id == grid.id).order_by(Feature.id)
        )
        return rows.all()

    async def get_feature(
        self, grid: Grid, feature_key: str, *, for_update: bool = False
    ) -> Feature:
        missing = f"No feature {feature_key!r} in grid {grid.slug!r}."
        feature_id = id_of(feature_key)
        if feature_id is None:
            raise NotFound(missing)
        stmt = select(Feature).where(Feature.grid_id == grid.id, Feature.id == feature_id)
        return await first_or_404(self.session, stmt, for_update=for_update, missing=missing)

    # Elements: the cells.

    async def get_element(self, feature: Feature, membership: GridPackage) -> Element | None:
        stmt = select(Element).where(
            Element.feature_id == feature.id, Element.grid_package_id == membership.id
        )
        return await self.session.scalar(stmt)

    async def find_cell(
        self, grid: Grid, feature_key: str, package_key: str
    ) -> tuple[Feature, GridPackage, Element | None]:
        """A cell's row (feature), column (membership) and text, if any: 404 without both."""
        feature = await self.get_feature(grid, feature_key)
        membership = await self.get_membership(grid, package_key)
        return feature, membership, await self.get_element(feature, membership)

    async def table(
        self, grid: Grid
    ) -> tuple[list[Package], Sequence[Feature], dict[tuple[int, int], str]]:
        """Columns (packages, by title), rows (features) and cells, in three statements."""
        packages = list(
            await self.session.scalars(
                select(Package)
                .join(GridPackage, GridPackage.package_id == Package.id)
                .where(GridPackage.grid_id == grid.id)
                .order_by(Package.title, Package.id)
            )
        )
        features = await self.list_features(grid)
        cells: dict[tuple[int, int], str] = {}
        if packages and features:
            rows = await self.session.execute(
                select(Element.feature_id, GridPackage.package_id, Element.text)
                .join(GridPackage, GridPackage.id == Element.grid_package_id)
                .where(GridPackage.grid_id == grid.id)
            )
            cells = {(feature_id, package_id): text for feature_id, package_id, text in rows}
        return packages, features, cells
