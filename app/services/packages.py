"""Package rules shared by the API's writes and the importer (see app/services/origin.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import String

from app.models import Package
from app.normalize import normalize_pypi_url, normalize_repo_url, repo_host_of, validate_http_url
from app.services.origin import Origin

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
