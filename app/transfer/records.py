"""The one mapping from what a source says to the rows we store.

Two shapes come in: the export format (ids everywhere, see format.py) and djangopackages'
API v4 resources (hyperlinks for relations). The API shapes are first turned into the export
shape (`*_from_api`), then every record goes through the same validation (`validate`), so
the loader sees one kind of record whatever the source.

A record is stored as the source has it: the original's whole domain (nulls, blanks, texts
past its form limits, URLs in any old spelling, shared category slugs) is accepted and
served back unchanged; how that differs from a user's write is app/services/origin.py.
A record that cannot be stored at all (no id, a bad slug, a title longer than its column,
a NUL character) is refused with a reason, and only that record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from app.models import OWN_FIELDS_UNSET
from app.normalize import validate_slug
from app.repositories.base import MAX_ID
from app.schemas.common import Instant
from app.services import categories, grids, packages
from app.services.origin import Origin
from app.services.packages import InvalidValue, stored_urls

Kind = Literal["categories", "grids", "packages", "memberships", "features", "elements"]
# Dependency order: each kind only refers to kinds before it. Sources deliver, the loader
# loads and the export lists them in this order.
KINDS: tuple[Kind, ...] = ("categories", "grids", "packages", "memberships", "features", "elements")

Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
Count = Annotated[int, Field(ge=0, le=MAX_ID, strict=True)]
# The original's text columns have no length (its 500 and 1000 are form limits only).
Text = str


def _text(max_length: int, min_length: int = 0) -> Any:
    """Text of a column of `max_length` characters, kept as it is (not stripped)."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length)]


def _slug(max_length: int) -> Any:
    """Django's slug rule, as the original's SlugField; only digits ("1984") allowed too."""
    return Annotated[
        str,
        StringConstraints(max_length=max_length),
        AfterValidator(lambda value: validate_slug(value, digits_only=True)),
    ]


class RecordError(ValueError):
    """A record that cannot be stored; the message is the reason, for people."""


class _Record(BaseModel):
    # Keys we do not know (the API's `url`, `repo_host`, ...) are ignored, never an error:
    # a newer source may have more than we store.
    model_config = ConfigDict(extra="ignore", frozen=True)


class CategoryRecord(_Record):
    id: Id
    title: _text(categories.TITLE_LENGTH, 1)  # type: ignore[valid-type]
    slug: _slug(categories.SLUG_LENGTH)  # type: ignore[valid-type]
    description: Text = ""
    title_plural: _text(50) = ""  # type: ignore[valid-type]
    show_pypi: bool = True
    created: Instant
    modified: Instant


class GridRecord(_Record):
    id: Id
    title: _text(grids.TITLE_LENGTH, 1)  # type: ignore[valid-type]
    slug: _slug(grids.SLUG_LENGTH)  # type: ignore[valid-type]
    description: Text = ""
    is_locked: bool = False
    header: bool = False
    created: Instant
    modified: Instant


class PackageRecord(_Record):
    id: Id
    title: _text(packages.TITLE_LENGTH, 1)  # type: ignore[valid-type]
    slug: _slug(packages.SLUG_LENGTH)  # type: ignore[valid-type]
    category: Id
    # Any text: the column's length is checked by stored_urls, with the API's message.
    repo_url: str = ""
    pypi_url: str = ""
    documentation_url: str | None = ""
    repo_description: Text = ""
    repo_watchers: Count = 0
    repo_forks: Count = 0
    participants: list[Text] = Field(default_factory=list)
    # [] until the original first fetched it; never made-up zeros.
    commits_over_52: list[Count] = Field(default_factory=list)
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
PACKAGE_EXTRAS = (*OWN_FIELDS_UNSET, "deprecated_by")


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
    _refuse_unstorable(row)
    return row


def _package_values(
    values: dict[str, Any], given: set[str], row: Row, forge_hosts: Mapping[str, str] | None
) -> None:
    urls = {name: values.pop(name) for name in ("repo_url", "pypi_url", "documentation_url")}
    try:
        # As the source has them; repo_host from the repository repo_url names.
        values.update(stored_urls(urls, Origin.SOURCE, forge_hosts))
    except InvalidValue as error:
        raise RecordError(str(error)) from None
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


def _unstorable(text: str) -> str | None:
    """Why no column can hold `text`, or None. PostgreSQL refuses NUL, and no UTF-8 database
    holds a lone surrogate (JSON's "\\ud800"): refused rather than altered silently."""
    if "\x00" in text:
        return "must not contain NUL characters (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "must not contain lone surrogates (\\ud800-\\udfff): not UTF-8 text"
    return None


def _refuse_unstorable(row: Row) -> None:
    for name, value in row.values.items():
        if isinstance(value, str):
            texts = [value]
        elif isinstance(value, list) and value and isinstance(value[0], str):
            texts = value
        else:
            continue  # numbers, lists of numbers, timestamps, None
        for text in texts:
            reason = _unstorable(text)
            if reason:
                raise RecordError(f"{name}: {reason}")


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
