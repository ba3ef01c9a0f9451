"""The one mapping from what a source says to the rows we store.

Two shapes come in: the export format (ids everywhere, see format.py) and djangopackages'
API v4 resources (hyperlinks for relations). The API shapes are first turned into the export
shape (`*_from_api`), then every record goes through the same validation (`validate`), so
the loader sees one kind of record whatever the source.

A record that cannot be stored faithfully (no id, a bad slug, a title too long) is refused
with a reason. The one exception is a URL our normalizer refuses: djangopackages holds
old repositories on hosts long gone, and losing the package for it would lose far more
than the URL, so the field is dropped and a warning says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from app.normalize import normalize_pypi_url, normalize_repo_url, validate_http_url
from app.repositories.base import MAX_ID
from app.schemas.common import Instant, Slug50, Slug100

Kind = Literal["categories", "grids", "packages", "memberships", "features", "elements"]
# Dependency order: each kind only refers to kinds before it. Sources deliver, the loader
# loads and the export lists them in this order.
KINDS: tuple[Kind, ...] = ("categories", "grids", "packages", "memberships", "features", "elements")

Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
Count = Annotated[int, Field(ge=0, le=MAX_ID, strict=True)]
Text = Annotated[str, StringConstraints(max_length=100_000)]


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length)]


class RecordError(ValueError):
    """A record that cannot be stored; the message is the reason, for people."""


class _Record(BaseModel):
    # Keys we do not know (the API's `url`, `repo_host`, ...) are ignored, never an error:
    # a newer source may have more than we store.
    model_config = ConfigDict(extra="ignore", frozen=True)


class CategoryRecord(_Record):
    id: Id
    title: _text(50, 1)  # type: ignore[valid-type]
    slug: Slug50
    description: Text = ""
    title_plural: _text(50) = ""  # type: ignore[valid-type]
    show_pypi: bool = True
    created: Instant
    modified: Instant


class GridRecord(_Record):
    id: Id
    title: _text(100, 1)  # type: ignore[valid-type]
    slug: Slug100
    description: _text(1000) = ""  # type: ignore[valid-type]
    is_locked: bool = False
    header: bool = False
    created: Instant
    modified: Instant


class PackageRecord(_Record):
    id: Id
    title: _text(100, 1)  # type: ignore[valid-type]
    slug: Slug100
    category: Id
    repo_url: _text(2000) = ""  # type: ignore[valid-type]
    pypi_url: _text(2000) = ""  # type: ignore[valid-type]
    documentation_url: _text(2000) = ""  # type: ignore[valid-type]
    repo_description: Text = ""
    repo_watchers: Count = 0
    repo_forks: Count = 0
    participants: list[Text] = Field(default_factory=list)
    commits_over_52: list[Count] = Field(default_factory=lambda: [0] * 52)
    last_updated: Instant | None = None
    last_fetched: Instant | None = None
    pypi_version: _text(100) | None = None  # type: ignore[valid-type]
    created: Instant
    modified: Instant
    # Ours, beyond the original's keys: only a source of ours has them. Left out, the
    # stored value is kept (a new package gets the default).
    score: int | None = Field(default=None, strict=True, ge=-MAX_ID, le=MAX_ID)
    pypi_license: _text(255) | None = None  # type: ignore[valid-type]
    pypi_requires_python: _text(100) | None = None  # type: ignore[valid-type]
    pypi_classifiers: list[Text] = Field(default_factory=list)
    supports_python3: bool | None = None
    date_deprecated: Instant | None = None
    date_repo_archived: Instant | None = None
    deprecated_by: Id | None = None


class MembershipRecord(_Record):
    grid: Id
    package: Id
    # Left out (the original's API never says): kept, or "now" for a new membership.
    created: Instant | None = None


class FeatureRecord(_Record):
    id: Id
    grid: Id
    title: _text(100, 1)  # type: ignore[valid-type]
    description: Text = ""
    created: Instant
    modified: Instant


class ElementRecord(_Record):
    feature: Id
    package: Id
    text: Text = ""
    created: Instant | None = None
    modified: Instant | None = None


RECORD_TYPES: dict[Kind, type[_Record]] = {
    "categories": CategoryRecord,
    "grids": GridRecord,
    "packages": PackageRecord,
    "memberships": MembershipRecord,
    "features": FeatureRecord,
    "elements": ElementRecord,
}

# Package keys of ours that the original lacks; present or not tells the loader what to keep.
PACKAGE_EXTRAS = (
    "score",
    "pypi_license",
    "pypi_requires_python",
    "pypi_classifiers",
    "supports_python3",
    "date_deprecated",
    "date_repo_archived",
    "deprecated_by",
)


@dataclass(slots=True)
class Row:
    """A validated record as the loader writes it: column values, and what it had to say."""

    kind: Kind
    label: str
    values: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def label_of(kind: Kind, data: Mapping[str, Any]) -> str:
    """How reports name a record: `631 (django-shop)`, `grid 41 / package 631`, ..."""
    if kind == "memberships":
        return f"grid {data.get('grid')} / package {data.get('package')}"
    if kind == "elements":
        return f"feature {data.get('feature')} / package {data.get('package')}"
    slug = data.get("slug")
    return f"{data.get('id')} ({slug})" if slug else str(data.get("id"))


def _reason(error: ValidationError) -> str:
    problems = []
    for problem in error.errors()[:3]:
        where = ".".join(str(part) for part in problem["loc"]) or "record"
        problems.append(f"{where}: {problem['msg']}")
    return "; ".join(problems)


# Column length of each URL field, and how it is normalized (with the configured forge
# hosts, which decide how much of a path is the repository); as the API's writes do.
_URLS: dict[str, tuple[Callable[[str, Mapping[str, str] | None], str], int]] = {
    "repo_url": (normalize_repo_url, 255),
    "pypi_url": (lambda raw, _hosts: normalize_pypi_url(raw), 255),
    "documentation_url": (lambda raw, _hosts: validate_http_url(raw), 255),
}


def validate(kind: Kind, data: Any, forge_hosts: Mapping[str, str] | None = None) -> Row:
    """A record in the export shape, checked and turned into column values.

    `forge_hosts` are the configured forges (Settings.forge_hosts), as the API passes them.
    Raises RecordError with the reason when it cannot be stored.
    """
    if not isinstance(data, Mapping):
        raise RecordError(f"is a JSON {type(data).__name__}, not an object")
    try:
        record = RECORD_TYPES[kind].model_validate(data)
    except ValidationError as error:
        raise RecordError(_reason(error)) from None
    values = record.model_dump()
    # Foreign keys are columns with `_id`; only the keys the source gave are written.
    given = record.model_fields_set
    row = Row(kind, label_of(kind, values), {})
    if kind == "packages":
        _package_values(values, given, row, forge_hosts)
    elif kind == "memberships":
        row.values = {"grid_id": values["grid"], "package_id": values["package"]}
        if values["created"] is not None:
            row.values["created"] = values["created"]
    elif kind == "features":
        values["grid_id"] = values.pop("grid")
        row.values = values
    elif kind == "elements":
        row.values = {
            "feature_id": values["feature"],
            "package_id": values["package"],
            "text": values["text"],
        }
        row.values.update(
            {name: values[name] for name in ("created", "modified") if values[name] is not None}
        )
    else:
        row.values = values
    _refuse_nul(row)
    return row


def _package_values(
    values: dict[str, Any], given: set[str], row: Row, forge_hosts: Mapping[str, str] | None
) -> None:
    for name, (normalize, length) in _URLS.items():
        raw = values[name]
        try:
            normal = normalize(raw, forge_hosts)
            if len(normal) > length:
                raise ValueError(f"is longer than {length} characters")
        except ValueError as error:
            row.warnings.append(f"{name} {raw!r} left out: {error}")
            normal = ""
        values[name] = normal
    values["repo_url"] = values["repo_url"] or None
    values["category_id"] = values.pop("category")
    deprecated_by = values.pop("deprecated_by")
    for name in PACKAGE_EXTRAS:
        if name not in given:
            values.pop(name, None)
    if "score" in values and values["score"] is None:
        values["score"] = 0
    if "deprecated_by" in given:
        if deprecated_by == values["id"]:
            row.warnings.append("deprecated_by names the package itself; left out")
        else:
            values["deprecated_by_id"] = deprecated_by
    row.values = values


def _refuse_nul(row: Row) -> None:
    # No column can hold NUL (PostgreSQL refuses it): refuse rather than strip it silently.
    for name, value in row.values.items():
        if isinstance(value, str):
            found = "\x00" in value
        elif isinstance(value, list) and value and isinstance(value[0], str):
            found = any("\x00" in item for item in value)
        else:
            continue  # numbers, lists of numbers, timestamps
        if found:
            raise RecordError(f"{name}: must not contain NUL characters (\\u0000)")


# The API's shapes.


class SourceLinks:
    """Reads a source API's hyperlinks back into ids, from the collection URLs of its root."""

    def __init__(self, collections: Mapping[str, str]) -> None:
        self.paths = {name: urlsplit(url).path for name, url in collections.items()}

    def id_of(self, link: Any, resource: str, field_name: str) -> int:
        if isinstance(link, int) and not isinstance(link, bool):
            return link
        if not isinstance(link, str):
            raise RecordError(f"{field_name}: expected a hyperlink, got {link!r}")
        path = urlsplit(link).path
        prefix = self.paths[resource]
        key = path[len(prefix) :].strip("/") if path.startswith(prefix) else ""
        if not (key.isascii() and key.isdigit()):
            raise RecordError(f"{field_name}: {link!r} is not a link to one of the {resource}")
        return int(key)


def _mapping(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise RecordError(f"is a JSON {type(data).__name__}, not an object")
    return dict(data)


def package_from_api(data: Any, links: SourceLinks) -> tuple[dict[str, Any], list[int]]:
    """An API package in the export shape, and the ids of the grids it is in."""
    record = _mapping(data)
    record["category"] = links.id_of(record.get("category"), "categories", "category")
    grid_links = record.pop("grids", [])
    if not isinstance(grid_links, list):
        raise RecordError("grids: expected a list of hyperlinks")
    grids = [links.id_of(link, "grids", "grids") for link in grid_links]
    if record.get("deprecated_by") is not None:
        record["deprecated_by"] = links.id_of(record["deprecated_by"], "packages", "deprecated_by")
    return record, grids


def grid_from_api(data: Any, links: SourceLinks) -> tuple[dict[str, Any], list[int]]:
    """An API grid in the export shape, and the ids of its packages."""
    record = _mapping(data)
    package_links = record.pop("packages", [])
    if not isinstance(package_links, list):
        raise RecordError("packages: expected a list of hyperlinks")
    return record, [links.id_of(link, "packages", "packages") for link in package_links]


def is_ours_grid(data: Mapping[str, Any]) -> bool:
    """A grid served by packages-api links its comparison table; the original's has none."""
    return isinstance(data.get("table"), str) and isinstance(data.get("features"), str)


def instant_or_none(value: Any) -> dt.datetime | None:
    """A timestamp from a source, or None when it has none or it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else None
