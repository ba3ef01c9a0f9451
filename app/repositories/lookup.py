"""The packages a lookup names: by PyPI name (the indexed pypi_name) and by repository."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Package
from app.normalize import canonical_repo_url, repo_url_spellings
from app.repositories.packages import _READ, PackageRead, grid_ids_of


async def packages_by_pypi_name(
    session: AsyncSession, names: Collection[str]
) -> dict[str, PackageRead]:
    """The package of each PEP 503 name; the oldest when several name one project."""
    if not names:
        return {}
    stmt = _READ.add_columns(Package.pypi_name).where(Package.pypi_name.in_(sorted(names)))
    rows = (await session.execute(stmt.order_by(Package.id.desc()))).all()
    return {row.pypi_name: (row, grid_ids_of(row)) for row in rows}  # the lowest id wins


async def packages_by_repo(
    session: AsyncSession, urls: Collection[str], hosts: Mapping[str, str] | None
) -> dict[str, PackageRead]:
    """The package of each normalized repository URL, found through the unique repo_url
    index under every common spelling (an imported repo_url keeps the source's)."""
    spellings = {spelled for url in urls for spelled in repo_url_spellings(url)}
    if not spellings:
        return {}
    stmt = _READ.where(Package.repo_url.in_(sorted(spellings))).order_by(Package.id.desc())
    found: dict[str, PackageRead] = {}
    for row in (await session.execute(stmt)).all():
        url = canonical_repo_url(row.repo_url, hosts)
        if url is not None and url in urls:
            found[url] = (row, grid_ids_of(row))
    return found
