"""Category queries and writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound
from app.models import Category, Package
from app.pagination import ListPage, PageRequest
from app.repositories.base import (
    count_rows,
    fetch_page,
    flush_or_conflict,
    key_filter,
    pick_slug,
)
from app.repositories.counts import table_count
from app.repositories.keyset import parse_ordering
from app.schemas.category import CategoryIn

ORDERING_FIELDS: dict[str, Any] = {"id": Category.id, "title": Category.title}


class CategoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_page(
        self, page: PageRequest, *, ordering: str | None = None
    ) -> ListPage[Category]:
        stmt = select(Category)
        order = parse_ordering(ordering, ORDERING_FIELDS, Category.id)
        total = await table_count(self.session, "categories")
        return await fetch_page(self.session, stmt, page, order, resource="categories", total=total)

    async def get(self, key: str | int, *, for_update: bool = False) -> Category:
        stmt = select(Category).where(key_filter(Category, key))
        if for_update:
            stmt = stmt.with_for_update()
        category = await self.session.scalar(stmt)
        if category is None:
            raise NotFound(f"No category matches {str(key)!r}.")
        return category

    async def create(self, data: CategoryIn) -> Category:
        category = Category()
        self.session.add(category)
        self._apply(category, data.model_dump(), creating=True)
        await flush_or_conflict(self.session, "category")
        return category

    async def update(self, category: Category, values: dict[str, Any]) -> Category:
        """Apply a body's `changes()`: all editable fields for PUT, the sent ones for PATCH."""
        self._apply(category, values, creating=False)
        await flush_or_conflict(self.session, "category")
        return category

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
