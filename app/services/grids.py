"""Grid writes and their rules: who may edit a grid (a locked one, and the lock itself, are
for admin tokens), its packages, its features (rows) and elements (cells). The importer's
differences (ids and timestamps kept, texts past the form limits) are app/services/origin.py's
table."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Forbidden
from app.links import Links
from app.models import ApiToken, Element, Feature, Grid, GridPackage, Package
from app.repositories.base import flush_or_conflict, resolve_ids
from app.repositories.grids import GridRepository
from app.schemas.grid import FeatureIn, GridIn
from app.services.common import apply_fields
from app.services.tokens import can_admin

# The column's lengths: the API's schemas and the importer's records both check them.
TITLE_LENGTH = 100
SLUG_LENGTH = 100
EDITABLE = ("title", "description", "is_locked", "header")


def may_edit(grid: Grid, token: ApiToken, *, locking: bool = False) -> None:
    """A locked grid, and the lock itself, are for admin tokens only.

    Callers read the grid FOR UPDATE, so an edit cannot slip past a lock being set.
    """
    if (grid.is_locked or locking) and not can_admin(token):
        what = "change whether a grid is locked" if locking else "edit a locked grid"
        raise Forbidden(f"Only a token with the 'admin' scope may {what}.")


class GridService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.grids = GridRepository(session)

    async def editable(self, key: str, token: ApiToken) -> Grid:
        """The grid, row-locked for this transaction, if the token may edit it."""
        grid = await self.grids.get(key, for_update=True)
        may_edit(grid, token)
        return grid

    async def create(self, data: GridIn, links: Links, token: ApiToken) -> Grid:
        if data.is_locked and not can_admin(token):
            raise Forbidden("Only a token with the 'admin' scope may create a locked grid.")
        grid = Grid(memberships=[])
        self.session.add(grid)
        values = data.model_dump()
        apply_fields(grid, values, EDITABLE, slug_length=SLUG_LENGTH, creating=True)
        await flush_or_conflict(self.session, "grid")
        if values["packages"] is not None:
            await self.set_packages(grid, values["packages"], links)
        return grid

    async def update(self, grid: Grid, values: dict[str, Any], links: Links) -> Grid:
        """Apply a body's `changes()`: all editable fields for PUT, the sent ones for PATCH.
        The caller has checked may_edit (before If-Match, as the API answers)."""
        apply_fields(grid, values, EDITABLE, slug_length=SLUG_LENGTH, creating=False)
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

    async def put_element(
        self, feature: Feature, membership: GridPackage, text: str
    ) -> tuple[Element, bool]:
        element = await self.grids.get_element(feature, membership)
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
