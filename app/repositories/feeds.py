"""What the Atom feeds list: the newest packages of the directory, of a category, of a grid,
and the directory's newest releases (read from the change feed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Row, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.feeds.directory import FeedPackage, FeedRelease
from app.models import Category, Change, GridPackage, Package

# A feed reader polls; it needs the recent past, not the whole directory.
FEED_ENTRIES = 50
# Change events read per step while looking back for releases.
RELEASE_SCAN_BATCH = 500


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


async def newest_releases(
    session: AsyncSession, *, limit: int = FEED_ENTRIES, batch: int = RELEASE_SCAN_BATCH
) -> Sequence[FeedRelease]:
    """The newest releases, newest first: packages whose `pypi_version` an update changed
    to a version (the change feed's `fields` name it), each at its latest such change.

    A change event names the fields that changed, not their values, so only a package's
    latest version change can be named: its version is the package's current one. Older
    version changes of the same package are left out (their versions are not kept). The
    upload date is `pypi_last_release` when the same change set it (else it is an older
    release's). The events are read newest first, a batch at a time, until `limit`
    packages are found: version changes are rare among the refresher's updates, so this
    usually stops early.
    """
    # Field names are column names: quoted in the JSON text, never containing a quote.
    names_version = cast(Change.fields, Text).like('%"pypi_version"%')
    scan = (
        select(Change.seq, Change.resource_id, Change.at, Change.fields)
        # Packages deleted since, or whose version was taken away, have no release.
        .join(Package, Package.id == Change.resource_id)
        .where(
            Change.resource == "packages",
            Change.kind == "updated",
            names_version,
            func.coalesce(Package.pypi_version, "") != "",
        )
        .order_by(Change.seq.desc())
        .limit(batch)
    )
    seen: dict[int, Row[int, int, dt.datetime, list[str]]] = {}  # newest first
    before: int | None = None
    while len(seen) < limit:
        stmt = scan if before is None else scan.where(Change.seq < before)
        rows = (await session.execute(stmt)).all()
        for row in rows:
            if len(seen) < limit:
                seen.setdefault(row.resource_id, row)
        if len(rows) < batch:
            break
        before = rows[-1].seq
    if not seen:
        return []
    packages = (
        select(*_COLUMNS, Package.pypi_last_release)
        .join(Category, Category.id == Package.category_id)
        .where(Package.id.in_(seen))
    )
    releases = []
    for package in (await session.execute(packages)).all():
        values = package._asdict()
        last_release = values.pop("pypi_last_release")
        event = seen[package.id]
        releases.append(
            FeedRelease(
                package=FeedPackage(**values, added=event.at),
                version=package.pypi_version,
                seq=event.seq,
                seen=event.at,
                released=last_release if "pypi_last_release" in event.fields else None,
            )
        )
    return sorted(releases, key=lambda release: release.seq, reverse=True)
