"""Package queries: the filtered, ordered list page and the detail, and package writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, String, bindparam, cast, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.errors import InvalidBody, InvalidQuery, NotFound
from app.insights.names import stored_pypi_name
from app.links import Links
from app.models import REPO_HOSTS, Category, Grid, GridPackage, Package
from app.pagination import ListPage, PageRequest
from app.repositories.base import (
    KeyedSelect,
    count_rows,
    fetch_page,
    filter_value,
    flush_or_conflict,
    pick_slug,
    resolve_filter,
    resolve_ids,
)
from app.repositories.counts import table_count
from app.repositories.keyset import parse_ordering
from app.schemas.package import PackageIn
from app.services.origin import Origin
from app.services.packages import URL_FIELDS, InvalidValue, served_urls, stored_urls

ORDERING_FIELDS: dict[str, Any] = {
    "id": Package.id,
    "title": Package.title,
    "repo_watchers": Package.repo_watchers,
    "repo_forks": Package.repo_forks,
    "last_updated": Package.last_updated,
    "score": Package.score,
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


class PackageRepository:
    def __init__(
        self, session: AsyncSession, *, forge_hosts: Mapping[str, str] | None = None
    ) -> None:
        self.session = session
        # The configured forges (Settings.forge_hosts): they decide repo_host.
        self.forge_hosts = forge_hosts

    async def list_page(
        self,
        page: PageRequest,
        *,
        category: str | None = None,
        grid: str | None = None,
        grid_id: int | None = None,
        repo_host: str | None = None,
        ordering: str | None = None,
    ) -> ListPage[PackageRead]:
        """A page of packages, as rows of PACKAGE_COLUMNS with their grid ids. `category`,
        `grid` and `repo_host` are the client's filter values (blank: no filter; naming
        nothing: 400); `grid_id` is for a caller that already holds the grid."""
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
        order = parse_ordering(ordering, ORDERING_FIELDS, Package.id)
        # The whole list's count is kept by triggers; a filtered one is counted (by index),
        # before the grid ids join the select (a count need not compute them).
        if stmt.whereclause is None:
            total = await table_count(self.session, "packages")
        else:
            total = await count_rows(self.session, stmt)
        listing = await fetch_page(
            self.session,
            stmt.add_columns(_GRID_IDS_TEXT),
            page,
            order,
            resource="packages",
            total=total,
            plain_rows=True,
        )
        return replace(listing, rows=[(row, grid_ids_of(row)) for row in listing.rows])

    async def get(self, key: str | int, *, for_update: bool = False) -> Package:
        query = _BY_KEY(key)
        package = None
        if query is not None:
            stmt, params = query
            if for_update:
                # Serializes concurrent writers on PostgreSQL; SQLite's BEGIN IMMEDIATE does.
                stmt = stmt.with_for_update(of=Package)
            package = (await self.session.scalars(stmt, params)).unique().one_or_none()
        if package is None:
            raise NotFound(f"No package matches {str(key)!r}.")
        return package

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

    async def create(self, data: PackageIn, links: Links) -> Package:
        package = Package(memberships=[])
        self.session.add(package)
        await self._apply(package, data.model_dump(), links, creating=True)
        await flush_or_conflict(self.session, "package")
        return package

    async def update(self, package: Package, values: dict[str, Any], links: Links) -> Package:
        """Apply a body's `changes()`: all editable fields for PUT, the sent ones for PATCH."""
        await self._apply(package, values, links, creating=False)
        await flush_or_conflict(self.session, "package")
        return package

    async def delete(self, package: Package) -> None:
        # Memberships and elements go with it (ON DELETE CASCADE); packages it deprecated
        # keep existing with deprecated_by cleared (ON DELETE SET NULL).
        await self.session.delete(package)
        await self.session.flush()

    async def _apply(
        self, package: Package, values: dict[str, Any], links: Links, *, creating: bool
    ) -> None:
        # Where the metrics come from, before this edit.
        sources = (package.repo_url, package.pypi_url) if not creating else None
        if "title" in values:
            package.title = values["title"]
        if "slug" in values or creating:
            package.slug = pick_slug(values.get("slug"), package.title, 100)
        if "category" in values:
            [package.category_id] = await resolve_ids(
                self.session,
                Category,
                [values["category"]],
                "categories",
                links,
                "category",
                many=False,
            )
        urls = {field: values[field] for field in URL_FIELDS if field in values}
        served = served_urls(package) if not creating else None
        try:
            stored = stored_urls(urls, Origin.USER, self.forge_hosts, served)
        except InvalidValue as error:
            raise InvalidBody(error.field, error.message) from error
        for name, value in stored.items():
            setattr(package, name, value)
        if "pypi_url" in stored:
            package.pypi_name = stored_pypi_name(package.pypi_url)
        if not creating and (package.repo_url, package.pypi_url) != sources:
            _forget_refresh_state(package)
        if "deprecated_by" in values:
            ref = values["deprecated_by"]
            replacement_id = None
            if ref is not None:
                [replacement_id] = await resolve_ids(
                    self.session, Package, [ref], "packages", links, "deprecated_by", many=False
                )
                if replacement_id == package.id:
                    raise InvalidBody("deprecated_by", "cannot name the package itself")
            package.deprecated_by_id = replacement_id
        if "date_deprecated" in values:
            package.date_deprecated = values["date_deprecated"]


def _forget_refresh_state(package: Package) -> None:
    """A package pointed at another repository or PyPI project: what the refresher knew
    about the old one (ETags, back-off, the last error) no longer applies, and NULL
    last_fetched puts it first in the refresher's order (never fetched first)."""
    package.last_fetched = None
    # SQL NULL as on a package never fetched (None would be stored as a JSON null).
    package.refresh_etags = null()
    package.refresh_pypi_etag = None
    package.refresh_retry_at = None
    package.refresh_failures = 0
    package.refresh_error = ""
    package.refresh_error_at = None
