"""Package rules shared by the API's writes and the importer (see app/services/origin.py),
and the API's package writes (PackageService): the repository only queries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import String, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidBody
from app.insights.names import stored_pypi_name
from app.links import Links
from app.models import Category, Package
from app.normalize import normalize_pypi_url, normalize_repo_url, repo_host_of, validate_http_url
from app.repositories.base import flush_or_conflict, resolve_ids
from app.repositories.facts import write_facts
from app.schemas.package import PackageIn
from app.services.common import apply_fields
from app.services.origin import Origin

# The columns' lengths: the API's schemas and the importer's records both check them.
TITLE_LENGTH = 100
SLUG_LENGTH = 100
URL_FIELDS = ("repo_url", "pypi_url", "documentation_url")
# Only the original's documentation_url is nullable (URLField(null=True)).
NULLABLE_URLS = frozenset({"documentation_url"})

# How a user's value is normalized, with the configured forges (host -> kind), which
# decide how much of a repository URL's path is the repository.
_USER_FORMS: dict[str, Callable[[str, Mapping[str, str] | None], str]] = {
    "repo_url": normalize_repo_url,
    "pypi_url": lambda raw, _hosts: normalize_pypi_url(raw),
    "documentation_url": lambda raw, _hosts: validate_http_url(raw),
}


class InvalidValue(ValueError):
    """A value that cannot be stored: which field, and why (for people)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _column_length(field: str) -> int:
    column_type = Package.__table__.c[field].type
    assert isinstance(column_type, String) and column_type.length
    return column_type.length


def served_urls(package: Package) -> dict[str, str | None]:
    """A package's URL fields as the API serves them (no repository: "")."""
    return {
        "repo_url": package.repo_url or "",
        "pypi_url": package.pypi_url,
        "documentation_url": package.documentation_url,
    }


def stored_urls(
    values: Mapping[str, str | None],
    origin: Origin,
    forge_hosts: Mapping[str, str] | None,
    served: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """The columns for the URL fields among `values`: normalized for a user, as given for a
    source; with `repo_url`, its `repo_host` too. Raises InvalidValue.

    `served`: the package's URLs as the API serves them now. A user who sends one back as
    served keeps it as stored: a PUT of what a GET served changes nothing, an imported
    spelling included (normalizing it would also make the refresher start afresh).
    """
    served = served or {}
    stored: dict[str, Any] = {}
    for field in URL_FIELDS:
        if field not in values:
            continue
        raw = values[field]
        if raw is None:
            if field not in NULLABLE_URLS:
                raise InvalidValue(field, "cannot be null")
            stored[field] = None
            continue
        value = raw
        if origin is Origin.USER and (field not in served or served[field] != raw):
            try:
                value = _USER_FORMS[field](raw, forge_hosts)
            except ValueError as error:
                raise InvalidValue(field, str(error)) from error
        length = _column_length(field)
        if len(value) > length:
            # Normalizing can lengthen a user's value (a bare PyPI name gains its URL).
            once = " once normalized" if origin is Origin.USER else ""
            raise InvalidValue(field, f"is {len(value)} characters{once}; at most {length}")
        stored[field] = value
    if "repo_url" in stored:
        # NULL, not "", for no repository: many packages have none under the unique index.
        stored["repo_host"] = repo_host_of(stored["repo_url"], forge_hosts)
        stored["repo_url"] = stored["repo_url"] or None
    return stored


class PackageService:
    """A user's package writes: the rules of app/services/origin.py's USER column, then a
    flush (the request's session commits). `forge_hosts` (Settings.forge_hosts) decide
    repo_host."""

    def __init__(
        self, session: AsyncSession, *, forge_hosts: Mapping[str, str] | None = None
    ) -> None:
        self.session = session
        self.forge_hosts = forge_hosts

    async def create(self, data: PackageIn, links: Links) -> Package:
        package = Package(memberships=[])
        self.session.add(package)
        await self._apply(package, data.model_dump(), links, creating=True)
        await flush_or_conflict(self.session, "package")
        await write_facts(self.session, [package.id])
        return package

    async def update(self, package: Package, values: dict[str, Any], links: Links) -> Package:
        """Apply a body's `changes()`: all editable fields for PUT, the sent ones for PATCH."""
        await self._apply(package, values, links, creating=False)
        await flush_or_conflict(self.session, "package")
        await write_facts(self.session, [package.id])
        return package

    async def delete(self, package: Package) -> None:
        # Memberships and elements go with it (ON DELETE CASCADE); packages it deprecated
        # keep existing with deprecated_by cleared (ON DELETE SET NULL), which can change
        # their stored standing.
        replaced = list(
            await self.session.scalars(
                select(Package.id).where(Package.deprecated_by_id == package.id)
            )
        )
        await self.session.delete(package)
        await self.session.flush()
        await write_facts(self.session, replaced)

    async def _apply(
        self, package: Package, values: dict[str, Any], links: Links, *, creating: bool
    ) -> None:
        # Where the metrics come from, before this edit.
        sources = (package.repo_url, package.pypi_url) if not creating else None
        apply_fields(package, values, ("title",), slug_length=SLUG_LENGTH, creating=creating)
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
    # Another PyPI project's status is not known until it is fetched.
    package.pypi_status = None
    package.pypi_status_reason = None
