"""Category writes and their rules: a user's category takes a free slug, and a category
still holding packages is not deleted. The importer's differences (shared slugs, ids and
timestamps kept) are app/services/origin.py's table."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.models import Category
from app.repositories.base import flush_or_conflict
from app.repositories.categories import CategoryRepository
from app.schemas.category import CategoryIn
from app.services.common import apply_fields

# The column's lengths: the API's schemas and the importer's records both check them.
TITLE_LENGTH = 50
SLUG_LENGTH = 50
EDITABLE = ("title", "description", "title_plural", "show_pypi")


class CategoryService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.categories = CategoryRepository(session)

    async def create(self, data: CategoryIn) -> Category:
        category = Category()
        apply_fields(category, data.model_dump(), EDITABLE, slug_length=SLUG_LENGTH, creating=True)
        await self._check_slug_free(category)
        self.session.add(category)
        await flush_or_conflict(self.session, "category")
        return category

    async def update(self, category: Category, values: dict[str, Any]) -> Category:
        """Apply a body's `changes()`: all editable fields for PUT, the sent ones for PATCH."""
        before = category.slug
        apply_fields(category, values, EDITABLE, slug_length=SLUG_LENGTH, creating=False)
        if category.slug != before:
            await self._check_slug_free(category)
        await flush_or_conflict(self.session, "category")
        return category

    async def delete(self, category: Category) -> None:
        used = await self.categories.package_count(category)
        if used:
            raise Conflict(
                f"The category is used by {used} package(s); move them to another category first."
            )
        await self.session.delete(category)
        await flush_or_conflict(self.session, "category")

    async def _check_slug_free(self, category: Category) -> None:
        """A user's category takes a slug no other category has (app/services/origin.py):
        the column is not unique, because an import keeps the original's shared slugs."""
        # Two writers checking at once would both find the slug free: they take turns.
        await self.categories.lock_slugs()
        if await self.categories.slug_holder(category.slug, besides=category.id) is not None:
            raise Conflict("A category with this slug already exists.", field="slug")
