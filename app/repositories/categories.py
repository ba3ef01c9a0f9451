"""Category queries. Writes, with their rules: app.services.categories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.models import Category, Package
from app.repositories.base import (
    count_rows,
    first_or_404,
    key_filter,
)
from app.repositories.titled import TitledRepository

ORDERING_FIELDS: dict[str, Any] = {"id": Category.id, "title": Category.title}
# pg_advisory_xact_lock key serializing category slug checks ("cat-slug" in ASCII).
_SLUG_LOCK = 0x6361742D736C7567


class CategoryRepository(TitledRepository[Category]):
    model = Category
    table_name = "categories"
    ordering_fields = ORDERING_FIELDS

    async def get(self, key: str | int, *, for_update: bool = False) -> Category:
        # A slug two categories share (imported from the original) names the lowest id.
        stmt = select(Category).where(key_filter(Category, key)).order_by(Category.id).limit(1)
        missing = f"No category matches {str(key)!r}."
        return await first_or_404(self.session, stmt, for_update=for_update, missing=missing)

    async def lock_slugs(self) -> None:
        """Until commit, make other writers checking a category slug wait (PostgreSQL; SQLite's
        writers always take turns). Category writes are rare."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(select(func.pg_advisory_xact_lock(_SLUG_LOCK)))

    async def slug_holder(self, slug: str, *, besides: int | None = None) -> int | None:
        """The id of a category with this slug, other than `besides`, or None."""
        others = select(Category.id).where(Category.slug == slug)
        if besides is not None:
            others = others.where(Category.id != besides)
        return await self.session.scalar(others.limit(1))

    async def package_count(self, category: Category) -> int:
        return await count_rows(
            self.session, select(Package.id).where(Package.category_id == category.id)
        )
