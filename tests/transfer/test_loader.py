"""The bulk loader from Python (what a benchmark or another importer calls), on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.transfer import Summary, load_records
from tests.conftest import StatementCounter, bound_sessionmaker

STAMP = "2024-01-02T03:04:05Z"


def _records() -> dict[str, list[dict[str, Any]]]:
    category = {"id": 5, "title": "Apps", "slug": "apps", "created": STAMP, "modified": STAMP}
    packages = [
        {
            "id": 10,
            "title": "Old",
            "slug": "old",
            "category": 5,
            "repo_url": "git@github.com:Owner/Old.git",
            "created": STAMP,
            "modified": STAMP,
            # Names a package that comes later in the same run.
            "deprecated_by": 11,
        },
        {
            "id": 11,
            "title": "New",
            "slug": "new",
            "category": 5,
            "created": STAMP,
            "modified": STAMP,
        },
        {
            "id": 12,
            "title": "Lost",
            "slug": "lost",
            "category": 99,
            "created": STAMP,
            "modified": STAMP,
        },
        {
            "id": 13,
            "title": "Bad",
            "slug": "twelve?",
            "category": 5,
            "created": STAMP,
            "modified": STAMP,
        },
        {
            "id": 14,
            "title": "Twin",
            "slug": "twin",
            "category": 5,
            # Another spelling of package 10's repository is another value (the original's
            # unique index compares text); the very same text is refused.
            "repo_url": "git@github.com:Owner/Old.git",
            "created": STAMP,
            "modified": STAMP,
        },
    ]
    return {"categories": [category], "packages": packages}


async def _load(connection: AsyncConnection, records: Any) -> Summary:
    async with bound_sessionmaker(connection)() as session:
        summary = await load_records(session, records)
        await session.commit()
    return summary


async def test_records_are_loaded_or_refused_each_with_its_reason(
    connection: AsyncConnection,
) -> None:
    summary = await _load(connection, _records())

    counts = summary.counts["packages"]
    assert (counts.created, counts.updated, counts.unchanged, counts.refused) == (2, 0, 0, 3)
    reasons = {problem.label: problem.reason for problem in summary.refused}
    assert reasons == {
        "12 (lost)": "category 99 is neither in the source nor here (or it was refused)",
        "13 (twelve?)": "slug: Value error, may contain only letters, digits, hyphens and "
        "underscores",
        "14 (twin)": "repo_url 'git@github.com:Owner/Old.git' belongs to package 10 here",
    }
    async with bound_sessionmaker(connection)() as session:
        from app.models import Package

        old = await session.get(Package, 10)
        assert old is not None
        # As the source spelled it; the repository it names is on GitHub.
        assert (old.repo_url, old.repo_host, old.deprecated_by_id) == (
            "git@github.com:Owner/Old.git",
            "github",
            11,
        )


async def test_loading_the_same_records_again_writes_nothing(
    connection: AsyncConnection, count_statements: StatementCounter
) -> None:
    await _load(connection, _records())
    count_statements.statements.clear()

    summary = await _load(connection, _records())

    counts = summary.counts["packages"]
    assert (counts.created, counts.updated, counts.unchanged) == (0, 0, 2)
    writes = [
        statement
        for statement in count_statements.statements
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


async def test_an_id_under_another_slug_is_refused(connection: AsyncConnection) -> None:
    await _load(connection, _records())
    renamed = _records()
    renamed["packages"][1]["slug"] = "newer"

    summary = await _load(connection, renamed)

    [problem] = [p for p in summary.refused if p.label == "11 (newer)"]
    assert problem.reason.startswith("id 11 is 'new' here but 'newer' in the source")


async def test_what_refers_to_an_id_that_is_another_record_here_is_refused_too(
    connection: AsyncConnection,
) -> None:
    # Here: category 5 'apps', package 11 'new' (and 10 'old', which it deprecates).
    await _load(connection, _records())
    stamps = {"created": STAMP, "modified": STAMP}
    refused_as_renamed = "in the source; a slug is how users address it, so it is not changed"
    source = {
        # Ids 5 and 11 name other records here: the source's category and package are
        # refused, and so must be what refers to them, or it would join 'apps' and 'new'.
        "categories": [
            {"id": 5, "title": "Tools", "slug": "tools"} | stamps,
            {"id": 6, "title": "Other", "slug": "other"} | stamps,
        ],
        "grids": [{"id": 1, "title": "Grid", "slug": "grid"} | stamps],
        "packages": [
            {"id": 11, "title": "Newer", "slug": "newer", "category": 6} | stamps,
            {"id": 20, "title": "Tool", "slug": "tool", "category": 5} | stamps,
            {"id": 21, "title": "Kept", "slug": "kept", "category": 6, "deprecated_by": 11}
            | stamps,
        ],
        "memberships": [{"grid": 1, "package": 11}, {"grid": 1, "package": 21}],
        "features": [{"id": 3, "grid": 1, "title": "Feature"} | stamps],
        "elements": [
            {"feature": 3, "package": 11, "text": "theirs"},
            {"feature": 3, "package": 21, "text": "kept"},
        ],
    }

    summary = await _load(connection, source)

    reasons = {problem.label: problem.reason for problem in summary.refused}
    assert reasons.pop("5 (tools)").startswith(
        "id 5 is 'apps' here but 'tools' " + refused_as_renamed
    )
    assert reasons.pop("11 (newer)").startswith(
        "id 11 is 'new' here but 'newer' " + refused_as_renamed
    )
    assert reasons == {
        "20 (tool)": "category 5 is another category here (refused above)",
        "grid 1 / package 11": "package 11 is another package here (refused above)",
        "feature 3 / package 11": "package 11 is another package here (refused above)",
    }
    assert [(w.label, w.reason) for w in summary.warnings] == [
        (
            "21",
            "deprecated_by names package 11, which is another package here (refused above); "
            "left unset",
        )
    ]
    async with bound_sessionmaker(connection)() as session:
        from app.models import Element, GridPackage, Package

        memberships = await session.scalars(select(GridPackage.package_id))
        assert list(memberships) == [21]
        assert list(await session.scalars(select(Element.text))) == ["kept"]
        kept = await session.get(Package, 21)
        assert kept is not None and kept.deprecated_by_id is None
