"""Grid queries and writes: the grid itself, its packages, features and elements, its table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.errors import Conflict, NotFound
from app.links import Links
from app.models import Element, Feature, Grid, GridPackage, Package
from app.pagination import ListPage, PageRequest
from app.repositories.base import (
    KeyedSelect,
    fetch_page,
    flush_or_conflict,
    id_of,
    key_filter,
    modified_since_ordering,
    pick_slug,
    resolve_ids,
)
from app.repositories.counts import table_count
from app.repositories.keyset import parse_ordering
from app.schemas.grid import FeatureIn, GridIn

ORDERING_FIELDS: dict[str, Any] = {"id": Grid.id, "title": Grid.title}

# In the same statement, as for packages (app.repositories.packages._GRID_IDS).
_MEMBER_IDS = joinedload(Grid.memberships).load_only(GridPackage.grid_id, GridPackage.package_id)
_BY_KEY = KeyedSelect(Grid, _MEMBER_IDS)


class GridRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_page(
        self,
        page: PageRequest,
        *,
        ordering: str | None = None,
        modified_since: dt.datetime | None = None,
    ) -> ListPage[Grid]:
        stmt = select(Grid)
        total: int | None
        if modified_since is not None:
            stmt = stmt.where(Grid.modified >= modified_since)
            order = modified_since_ordering(ordering, Grid.modified, Grid.id)
            total = None  # counted
        else:
            order = parse_ordering(ordering, ORDERING_FIELDS, Grid.id)
            total = await table_count(self.session, "grids")
        return await fetch_page(
            self.session, stmt, page, order, _MEMBER_IDS, resource="grids", total=total
        )

    async def get(self, key: str | int, *, for_update: bool = False) -> Grid:
        query = _BY_KEY(key)
        grid = None
        if query is not None:
            stmt, params = query
            if for_update:
                stmt = stmt.with_for_update(of=Grid)
            grid = (await self.session.scalars(stmt, params)).unique().one_or_none()
        if grid is None:
            raise NotFound(f"No grid matches {str(key)!r}.")
        return grid

    async def create(self, data: GridIn, links: Links) -> Grid:
        grid = Grid(memberships=[])
        self.session.add(grid)
        values = data.model_dump()
        self._apply(grid, values, creating=True)
        await flush_or_conflict(self.session, "grid")
        if values["packages"] is not None:
            await self.set_packages(grid, values["packages"], links)
        return grid

    async def update(self, grid: Grid, values: dict[str, Any], links: Links) -> Grid:
        """Apply a body's `changes()`: all editable fields for PUT, the sent ones for PATCH."""
        self._apply(grid, values, creating=False)
        await flush_or_conflict(self.session, "grid")
        if values.get("packages") is not None:
            await self.set_packages(grid, values["packages"], links)
        return grid

    async def delete(self, grid: Grid) -> None:
        await self.session.delete(grid)
        await self.session.flush()

    async def set_packages(self, grid: Grid, refs: list[int | str], links: Links) -> None:
        """Make the grid's packages exactly these, keeping the elements of those that stay."""
        wanted = await resolve_ids(
            self.session, Package, refs, "packages", links, "packages", many=True
        )
        current = {membership.package_id: membership for membership in grid.memberships}
        for package_id, membership in current.items():
            if package_id not in wanted:
                grid.memberships.remove(membership)  # delete-orphan: its elements go too
        for package_id in dict.fromkeys(wanted):
            if package_id not in current:
                grid.memberships.append(GridPackage(package_id=package_id))
        await flush_or_conflict(self.session, "grid package")

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

    async def add_package(self, grid: Grid, ref: int | str, links: Links) -> GridPackage:
        [package_id] = await resolve_ids(
            self.session, Package, [ref], "packages", links, "package", many=False
        )
        if any(m.package_id == package_id for m in grid.memberships):
            raise Conflict("The package is already in this grid.", field="package")
        membership = GridPackage(package_id=package_id)
        grid.memberships.append(membership)
        await flush_or_conflict(self.session, "grid package")
        return membership

    async def remove_membership(self, membership: GridPackage) -> None:
        await self.session.delete(membership)
        await self.session.flush()

    # Features: the rows of the comparison table.

    async def list_features(self, grid: Grid) -> Sequence[Feature]:
        rows = await self.session.scalars(
            select(Feature).where(Feature.grid_id == grid.id).order_by(Feature.id)
        )
        return rows.all()

    async def get_feature(
        self, grid: Grid, feature_key: str, *, for_update: bool = False
    ) -> Feature:
        feature_id = id_of(feature_key)
        if feature_id is None:
            raise NotFound(f"No feature {feature_key!r} in grid {grid.slug!r}.")
        stmt = select(Feature).where(Feature.grid_id == grid.id, Feature.id == feature_id)
        if for_update:
            stmt = stmt.with_for_update()
        feature = await self.session.scalar(stmt)
        if feature is None:
            raise NotFound(f"No feature {feature_key!r} in grid {grid.slug!r}.")
        return feature

    async def create_feature(self, grid: Grid, data: FeatureIn) -> Feature:
        feature = Feature(grid_id=grid.id, **data.model_dump())
        self.session.add(feature)
        await self.session.flush()
        return feature

    async def update_feature(self, feature: Feature, values: dict[str, Any]) -> Feature:
        for name, value in values.items():
            setattr(feature, name, value)
        await self.session.flush()
        return feature

    async def delete_feature(self, feature: Feature) -> None:
        await self.session.delete(feature)
        await self.session.flush()

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

    async def put_element(
        self, feature: Feature, membership: GridPackage, text: str
    ) -> tuple[Element, bool]:
        element = await self.get_element(feature, membership)
        created = element is None
        if element is None:
            element = Element(feature_id=feature.id, grid_package_id=membership.id, text=text)
            self.session.add(element)
        else:
            element.text = text
        await flush_or_conflict(self.session, "element")
        return element, created

    async def delete_element(self, element: Element) -> None:
        await self.session.delete(element)
        await self.session.flush()

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

    @staticmethod
    def _apply(grid: Grid, values: dict[str, Any], *, creating: bool) -> None:
        for name in ("title", "description", "is_locked", "header"):
            if name in values:
                setattr(grid, name, values[name])
        if "slug" in values or creating:
            grid.slug = pick_slug(values.get("slug"), grid.title, 100)
