"""Package queries: the filtered, ordered list page and the detail.

Writes, with their rules: app.services.packages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, String, bindparam, cast, func, select
from sqlalchemy.orm import joinedload

from app.errors import InvalidQuery, NotFound
from app.models import REPO_HOSTS, Category, Grid, GridPackage, Package
from app.pagination import ListPage, PageRequest
from app.repositories.base import (
    KeyedSelect,
    Repository,
    count_rows,
    fetch_page,
    filter_value,
    listed_since,
    resolve_filter,
)
from app.repositories.counts import table_count
from app.repositories.filters import FactFilters

ORDERING_FIELDS: dict[str, Any] = {
    "id": Package.id,
    "title": Package.title,
    "repo_watchers": Package.repo_watchers,
    "repo_forks": Package.repo_forks,
    "last_updated": Package.last_updated,
    "score": Package.score,
    # Issue 18's, by stored columns (app.insights.stored), each with a (field, id) index.
    "last_release": Package.pypi_last_release,
    "commits_last_year": Package.commits_last_year,
}


# Writes load the entity with its grid links in the same statement (a LEFT JOIN).
_GRID_IDS = joinedload(Package.memberships).load_only(GridPackage.grid_id, GridPackage.package_id)
_BY_KEY = KeyedSelect(Package, _GRID_IDS)

# What a read shows of a package (app.schemas.package.package_fields), read as plain rows:
# building entities (identity map, instance state) cost more CPU than the query itself.
PACKAGE_COLUMNS = tuple(
    Package.__table__.c[name]
    for name in (
        "id", "title", "slug", "category_id", "repo_url", "repo_host", "repo_description",
        "repo_watchers", "repo_forks", "participants", "commits_over_52", "last_updated",
        "last_fetched", "pypi_url", "pypi_version", "documentation_url", "pypi_license",
        "pypi_requires_python", "pypi_classifiers", "pypi_last_release", "supports_python3",
        "score", "date_deprecated", "date_repo_archived", "deprecated_by_id", "created", "modified",
        "pypi_status", "pypi_status_reason", "commits_last_year",
    )
)  # fmt: skip
# A package's grid ids as one text ("3,17"), read in the package's own row: a detail takes
# one statement and a list page one besides its count (statements, not rows, are what a
# read's CPU goes to).
# aggregate_strings is string_agg on PostgreSQL and group_concat on SQLite; neither promises
# an order, so grid_ids_of() sorts.
_GRID_IDS_TEXT = (
    select(func.aggregate_strings(cast(GridPackage.grid_id, String), ","))
    .where(GridPackage.package_id == Package.id)
    .scalar_subquery()
    .label("grid_ids")
)
_READ = select(*PACKAGE_COLUMNS, _GRID_IDS_TEXT)
_READ_BY_ID = _READ.where(Package.id == bindparam("key"))
_READ_BY_SLUG = _READ.where(Package.slug == bindparam("key"))
# A package as reads show it: its row of PACKAGE_COLUMNS and its grid ids, ascending.
PackageRow = Row[*tuple[Any, ...]]
PackageRead = tuple[PackageRow, list[int]]


def grid_ids_of(row: PackageRow) -> list[int]:
    """The grid ids of a row read with _GRID_IDS_TEXT, ascending."""
    text: str | None = row.grid_ids
    return sorted(int(grid_id) for grid_id in text.split(",")) if text else []


class PackageRepository(Repository):
    async def list_page(
        self,
        page: PageRequest,
        *,
        category: str | None = None,
        grid: str | None = None,
        grid_id: int | None = None,
        repo_host: str | None = None,
        ordering: str | None = None,
        modified_since: dt.datetime | None = None,
        facts: FactFilters | None = None,
    ) -> ListPage[PackageRead]:
        """A page of packages, as rows of PACKAGE_COLUMNS with their grid ids. `category`,
        `grid` and `repo_host` are the client's filter values (blank: no filter; naming
        nothing: 400); `grid_id` is for a caller that already holds the grid; `facts` the
        compatibility and maintenance filters, already read."""
        category, grid = filter_value(category), filter_value(grid)
        # Exactly one of the documented values, or blank (no filter).
        repo_host = repo_host or None
        if grid is not None and grid_id is not None:
            raise TypeError("pass grid or grid_id, not both")
        stmt = select(*PACKAGE_COLUMNS)
        if category is not None:
            category_id = await resolve_filter(self.session, Category, category, "category")
            stmt = stmt.where(Package.category_id == category_id)
        if grid is not None:
            grid_id = await resolve_filter(self.session, Grid, grid, "grid")
        if grid_id is not None:
            members = select(GridPackage.package_id).where(GridPackage.grid_id == grid_id)
            stmt = stmt.where(Package.id.in_(members))
        if repo_host is not None:
            if repo_host not in REPO_HOSTS:
                choices = ", ".join(repr(host) for host in REPO_HOSTS if host)
                raise InvalidQuery(
                    "repo_host", f"unknown host {repo_host!r}; choose from {choices}"
                )
            stmt = stmt.where(Package.repo_host == repo_host)
        stmt, order = listed_since(stmt, Package, ordering, ORDERING_FIELDS, modified_since)
        others = stmt.whereclause is not None
        counted = stmt
        if facts:
            # The page and its count may want the same condition in different shapes.
            counted = stmt.where(*facts.conditions(counting=True))
            stmt = stmt.where(*facts.conditions())
        # The whole list's count is kept by triggers; a filtered one is counted (by index),
        # before the grid ids join the select (a count need not compute them).
        alone = facts.count_alone() if facts and not others else None
        if stmt.whereclause is None:
            total = await table_count(self.session, "packages")
        elif alone is not None:
            total = int(await self.session.scalar(alone) or 0)
        else:
            total = await count_rows(self.session, counted)
        listing = await fetch_page(
            self.session,
            stmt.add_columns(_GRID_IDS_TEXT),
            page,
            order,
            resource="packages",
            total=total,
            plain_rows=True,
            ids_first=Package.id,
        )
        return replace(listing, rows=[(row, grid_ids_of(row)) for row in listing.rows])

    async def get(self, key: str | int, *, for_update: bool = False) -> Package:
        return await _BY_KEY.one(self.session, key, for_update=for_update)

    async def read(self, key: str | int) -> PackageRead:
        """The detail as GET shows it: the package's row and its grid ids, ascending."""
        query = _BY_KEY(key)
        row: PackageRow | None = None
        if query is not None:
            stmt = _READ_BY_SLUG if query[0] is _BY_KEY.by_slug else _READ_BY_ID
            connection = await self.session.connection()  # as fetch_rows(): no ORM layer
            row = (await connection.execute(stmt, query[1])).first()
        if row is None:
            raise NotFound(f"No package matches {str(key)!r}.")
        return row, grid_ids_of(row)
