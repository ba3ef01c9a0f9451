"""What the Atom feeds list: the newest packages of the directory, of a category, of a grid."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.feeds.directory import FeedPackage
from app.models import Category, GridPackage, Package

# A feed reader polls; it needs the recent past, not the whole directory.
FEED_ENTRIES = 50


_COLUMNS = (
    Package.id,
    Package.title,
    Package.slug,
    Package.repo_url,
    Package.pypi_url,
    Package.pypi_version,
    Package.repo_description,
    Category.title.label("category_title"),
    Package.created,
)


async def newest_packages(
    session: AsyncSession, *, category_id: int | None = None, limit: int = FEED_ENTRIES
) -> Sequence[FeedPackage]:
    """The newest packages, newest first (the (created, id) order is stable for ETags)."""
    stmt = select(*_COLUMNS).join(Category, Category.id == Package.category_id)
    if category_id is not None:
        stmt = stmt.where(Package.category_id == category_id)
    stmt = stmt.order_by(Package.created.desc(), Package.id.desc()).limit(limit)
    rows = (await session.execute(stmt)).all()
    return [FeedPackage(**row._asdict(), added=row.created) for row in rows]


async def newest_members(
    session: AsyncSession, grid_id: int, *, limit: int = FEED_ENTRIES
) -> Sequence[FeedPackage]:
    """The packages most recently added to a grid, newest first."""
    stmt = (
        select(*_COLUMNS, GridPackage.created.label("added"))
        .join(Package, Package.id == GridPackage.package_id)
        .join(Category, Category.id == Package.category_id)
        .where(GridPackage.grid_id == grid_id)
        .order_by(GridPackage.created.desc(), GridPackage.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    return [FeedPackage(**row._asdict()) for row in rows]
