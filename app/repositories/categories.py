"""Category queries and writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound
from app.models import Category, Package
from app.pagination import ListPage, PageRequest
from app.repositories.base import (
    count_rows,
    fetch_page,
    flush_or_conflict,
    key_filter,
    modified_since_ordering,
    pick_slug,
)
from app.repositories.counts import table_count
from app.repositories.keyset import parse_ordering
from app.schemas.category import CategoryIn

ORDERING_FIELDS: dict[str, Any] = {"id": Category.id, "title": Category.title}
# pg_advisory_xact_lock key serializing category slug checks ("cat-slug" in ASCII).
_SLUG_LOCK = 0x6361742D736C7567


class CategoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_page(
        self,
        page: PageRequest,
        *,
        ordering: str | None = None,
        modified_since: dt.datetime | None = None,
    ) -> ListPage[Category]:
        stmt = select(Category)
        total: int | None
        if modified_since is not None:
            stmt = stmt.where(Category.modified >= modified_since)
            order = modified_since_ordering(ordering, Category.modified, Category.id)
            total = None  # counted
        else:
            order = parse_ordering(ordering, ORDERING_FIELDS, Category.id)
            total = await table_count(self.session, "categories")
        return await fetch_page(self.session, stmt, page, order, resource="categories", total=total)

    async def get(self, key: str | int, *, for_update: bool = False) -> Category:
        # A slug two categories share (imported from the original) names the lowest id.
        stmt = select(Category).where(key_filter(Category, key)).order_by(Category.id).limit(1)
        if for_update:
            stmt = stmt.with_for_update()
        category = await self.session.scalar(stmt)
        if category is None:
            raise NotFound(f"No category matches {str(key)!r}.")
        return category

    async def create(self, data: CategoryIn) -> Category:
        category = Category()
        self._apply(category, data.model_dump(), creating=True)
        await self._check_slug_free(category)
        self.session.add(category)
        await flush_or_conflict(self.session, "category")
        return category

    async def update(self, category: Category, values: dict[str, Any]) -> Category:
        """Apply a body's `changes()`: all editable fields for PUT, the sent ones for PATCH."""
        before = category.slug
        self._apply(category, values, creating=False)
        if category.slug != before:
            await self._check_slug_free(category)
        await flush_or_conflict(self.session, "category")
        return category

    async def _check_slug_free(self, category: Category) -> None:
        """A user's category takes a slug no other category has (app/services/origin.py):
        the column is not unique, because an import keeps the original's shared slugs."""
        if self.session.get_bind().dialect.name == "postgresql":
            # Two writers checking at once would both find the slug free: they take turns
            # (SQLite's writers always do). Category writes are rare; the lock ends at commit.
            await self.session.execute(select(func.pg_advisory_xact_lock(_SLUG_LOCK)))
        others = select(Category.id).where(Category.slug == category.slug)
        if category.id is not None:
            others = others.where(Category.id != category.id)
        taken = await self.session.scalar(others.limit(1))
        if taken is not None:
            raise Conflict("A category with this slug already exists.", field="slug")

    async def delete(self, category: Category) -> None:
        used = await count_rows(
            self.session, select(Package.id).where(Package.category_id == category.id)
        )
        if used:
            raise Conflict(
                f"The category is used by {used} package(s); move them to another category first."
            )
        await self.session.delete(category)
        await flush_or_conflict(self.session, "category")

    @staticmethod
    def _apply(category: Category, values: dict[str, Any], *, creating: bool) -> None:
        for name in ("title", "description", "title_plural", "show_pypi"):
            if name in values:
                setattr(category, name, values[name])
        if "slug" in values or creating:
            category.slug = pick_slug(values.get("slug"), category.title, 50)
