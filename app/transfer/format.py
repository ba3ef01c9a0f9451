"""The export format, version 1: one JSON document holding a whole directory.

    {
    "format": "packages-api/export",
    "version": 1,
    "categories": [
    {"id": 2, "title": "App", ...},
    ...
    ],
    "grids": [...], "packages": [...], "memberships": [...], "features": [...], "elements": [...]
    }

Written deterministically (sections in dependency order, records by key, keys in the order
of FIELDS, one record per line, UTC timestamps with `Z`), so exporting what an export
imported gives the same bytes. docs/export-format.md describes every field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from app.transfer.records import KINDS, PACKAGE_EXTRAS, Kind

FORMAT = "packages-api/export"
VERSION = 1

# The keys of each section's records, in the order they are written.
FIELDS: dict[Kind, tuple[str, ...]] = {
    "categories": (
        "id",
        "title",
        "slug",
        "description",
        "title_plural",
        "show_pypi",
        "created",
        "modified",
    ),
    "grids": ("id", "title", "slug", "description", "is_locked", "header", "created", "modified"),
    "packages": (
        "id",
        "title",
        "slug",
        "category",
        "repo_url",
        "pypi_url",
        "documentation_url",
        "repo_description",
        "repo_watchers",
        "repo_forks",
        "participants",
        "commits_over_52",
        "last_updated",
        "last_fetched",
        "pypi_version",
        *PACKAGE_EXTRAS,  # ours, after the original's keys
        "created",
        "modified",
    ),
    "memberships": ("grid", "package", "created"),
    "features": ("id", "grid", "title", "description", "created", "modified"),
    "elements": ("feature", "package", "text", "created", "modified"),
}


class FormatError(ValueError):
    """A document that is not an export this version can read; the message says why."""


def timestamp(value: dt.datetime | None) -> str | None:
    """`2011-02-13T01:04:57.388326Z`: UTC, as the API writes it."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def header() -> str:
    return f'{{\n"format": {json.dumps(FORMAT)},\n"version": {VERSION}'


def section_start(kind: Kind) -> str:
    return f',\n"{kind}": ['


def record_line(kind: Kind, record: Mapping[str, Any], *, first: bool) -> str:
    values = {
        name: timestamp(value) if isinstance(value, dt.datetime) else value
        for name, value in ((name, record[name]) for name in FIELDS[kind])
    }
    return ("\n" if first else ",\n") + json.dumps(values, ensure_ascii=False)


def section_end() -> str:
    return "\n]"


def footer() -> str:
    return "\n}\n"


def read_document(document: Any) -> list[tuple[Kind, list[Any]]]:
    """The sections of a parsed export, in dependency order; FormatError if it is none.

    The whole document is checked before any section is returned, so a bad one loads nothing.
    """
    if not isinstance(document, dict):
        raise FormatError("not an export: the document is not a JSON object")
    if document.get("format") != FORMAT:
        raise FormatError(f'not an export: "format" is not {FORMAT!r}')
    version = document.get("version")
    if version != VERSION:
        raise FormatError(f"export version {version!r} is not one this version reads ({VERSION})")
    unknown = set(document) - {"format", "version", *KINDS}
    if unknown:
        raise FormatError(f"unknown sections: {', '.join(sorted(unknown))}")
    sections: list[tuple[Kind, list[Any]]] = []
    for kind in KINDS:
        records = document.get(kind, [])
        if not isinstance(records, list):
            raise FormatError(f'"{kind}" is not a list')
        sections.append((kind, records))
    return sections
