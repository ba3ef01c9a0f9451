"""The one mapping from the original's shapes and export records to our rows (no database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.transfer.format import FormatError, read_document
from app.transfer.records import (
    RecordError,
    SourceLinks,
    grid_from_api,
    package_from_api,
    validate,
)
from app.transfer.source_file import FileSource
from tests.factories import seed_records

LINKS = SourceLinks(
    {
        name: f"https://djangopackages.org/api/v4/{name}/"
        for name in ("categories", "grids", "packages")
    }
)


def test_a_seed_package_becomes_a_row_with_ids_and_utc_instants() -> None:
    seed = next(record for record in seed_records() if record["id"] == 631)

    record, grids = package_from_api(seed, LINKS)
    row = validate("packages", record)

    assert grids == [41, 287]
    assert row.label == "631 (django-shop)"
    assert row.warnings == []
    values = row.values
    assert values["category_id"] == 2
    assert values["repo_url"] == "https://github.com/awesto/django-shop"
    assert values["created"] == dt.datetime(2011, 2, 13, 1, 4, 57, 388326, tzinfo=dt.UTC)
    assert values["participants"][:2] == ["jrief", "rfleschenberg"]
    # The original has none of our extra fields: they are left out, so stored ones are kept.
    assert not {"score", "pypi_classifiers", "deprecated_by_id"} & set(values)


def test_a_link_to_another_collection_is_refused() -> None:
    seed = dict(seed_records()[0])
    seed["category"] = "https://djangopackages.org/api/v4/grids/2/"

    with pytest.raises(RecordError, match="is not a link to one of the categories"):
        package_from_api(seed, LINKS)


def test_a_grid_lists_its_packages_by_id() -> None:
    record, packages = grid_from_api(
        {"id": 41, "packages": ["https://djangopackages.org/api/v4/packages/631/"]}, LINKS
    )

    assert (record, packages) == ({"id": 41}, [631])


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": 1, "title": "A", "slug": "a b", "created": "2024-01-01T00:00:00Z"}, "slug"),
        ({"id": 0, "title": "A", "slug": "a", "created": "x", "modified": "x"}, "id"),
        ({"id": True, "title": "A", "slug": "a"}, "id"),
        (
            {
                "id": 1,
                "title": "A\x00",
                "slug": "a",
                "created": "2024-01-01T00:00:00Z",
                "modified": "2024-01-01T00:00:00Z",
            },
            "NUL",
        ),
        (
            {
                "id": 1,
                "title": "A",
                "slug": "a",
                "created": "2024-01-01T00:00:00",
                "modified": "2024-01-01T00:00:00Z",
            },
            "timezone",
        ),
        ([1, 2], "not an object"),
    ],
)
def test_bad_categories_are_refused_with_a_reason(record: object, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        validate("categories", record)


def test_a_document_that_is_not_an_export_is_refused_whole() -> None:
    with pytest.raises(FormatError, match="not an export"):
        read_document({"categories": []})
    with pytest.raises(FormatError, match="version 2"):
        read_document({"format": "packages-api/export", "version": 2})
    with pytest.raises(FormatError, match='"grids" is not a list'):
        read_document({"format": "packages-api/export", "version": 1, "grids": {}})


async def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "packages-api/export", "version": 1, "categories": [')

    with pytest.raises(FormatError, match=r"broken\.json is not JSON"):
        await FileSource(str(broken)).feed(None, None)  # type: ignore[arg-type]
    with pytest.raises(FormatError, match=r"cannot read .*missing\.json"):
        await FileSource(str(tmp_path / "missing.json")).feed(None, None)  # type: ignore[arg-type]
