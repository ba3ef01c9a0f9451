"""Migration c3a7e5d91f42 on a filled database, both dialects: null documentation URLs,
shared category slugs and long grid descriptions become storable, the 52 made-up zeros of
packages never fetched become [], and every trigger (search documents, table counts)
still works after SQLite's table rebuilds. Downgrading refuses what the old schema cannot
hold, and otherwise restores it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db import create_engine
from app.migrate import downgrade, upgrade
from tests.conftest import Databases

BEFORE = "b4f1c8e2a7d3"
REVISION = "c3a7e5d91f42"
ZEROS = json.dumps([0] * 52)  # as the old default stored them, spaces and all
STAMP = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
Statement = tuple[str, dict[str, Any]]


async def _execute(url: str, *statements: Statement | str) -> list[Any]:
    """Run statements in one transaction; the rows of the last."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as connection:
            rows: list[Any] = []
            for statement in statements:
                sql, params = (statement, {}) if isinstance(statement, str) else statement
                result = await connection.execute(text(sql), params)
                rows = list(result.all()) if result.returns_rows else []
            return rows
    finally:
        await engine.dispose()


def _category(category_id: int, slug: str) -> Statement:
    return (
        "INSERT INTO categories (id, title, slug, description, title_plural, show_pypi, created,"
        " modified) VALUES (:id, 'Apps', :slug, '', '', true, :stamp, :stamp)",
        {"id": category_id, "slug": slug, "stamp": STAMP},
    )


def _package(
    package_id: int, *, fetched: dt.datetime | None, commits: str, docs: str | None = ""
) -> Statement:
    return (
        "INSERT INTO packages (id, title, slug, category_id, repo_host, repo_description,"
        " repo_watchers, repo_forks, participants, commits_over_52, pypi_url, documentation_url,"
        " pypi_classifiers, score, refresh_error, refresh_failures, created, modified,"
        " last_fetched) VALUES (:id, :slug, :slug, 1, '', 'words', 0, 0, '[]', :commits, '',"
        " :docs, '[]', 0, '', 0, :stamp, :stamp, :fetched)",
        {
            "id": package_id,
            "slug": f"p{package_id}",
            "commits": commits,
            "docs": docs,
            "stamp": STAMP,
            "fetched": fetched,
        },
    )


async def _triggers(connection: AsyncConnection) -> set[str]:
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    return set((await connection.execute(text(query))).scalars())


async def _trigger_names(url: str) -> set[str]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            return await _triggers(connection)
    finally:
        await engine.dispose()


async def test_upgrade_keeps_the_data_fixes_the_zeros_and_the_triggers_still_work(
    databases: Databases,
) -> None:
    url = await databases.empty()
    settings = Settings(database_url=url)
    await asyncio.to_thread(upgrade, settings, BEFORE)
    triggers = await _trigger_names(url)
    await _execute(
        url,
        _category(1, "apps"),
        _package(1, fetched=None, commits=ZEROS),  # never fetched: made-up zeros
        _package(2, fetched=STAMP, commits=ZEROS),  # fetched: measured zeros, kept
        _package(3, fetched=None, commits="[0, 1" + ", 0" * 50 + "]"),
    )

    await asyncio.to_thread(upgrade, settings, REVISION)

    assert await _trigger_names(url) == triggers
    commits = await _execute(url, "SELECT id, commits_over_52 FROM packages ORDER BY id")
    decoded = [
        (row[0], json.loads(row[1]) if isinstance(row[1], str) else row[1]) for row in commits
    ]
    assert decoded == [(1, []), (2, [0] * 52), (3, [0, 1] + [0] * 50)]
    # What the old schema refused is stored now, and every trigger follows the writes.
    await _execute(
        url,
        _category(2, "apps"),
        _package(4, fetched=None, commits="[]", docs=None),
        (
            "INSERT INTO grids (id, title, slug, description, is_locked, header, created,"
            " modified) VALUES (1, 'Grid', 'grid', :description, false, false, :stamp, :stamp)",
            {"description": "d" * 1500, "stamp": STAMP},
        ),
        (
            "INSERT INTO grid_packages (id, grid_id, package_id, created) VALUES (1, 1, 4, :stamp)",
            {"stamp": STAMP},
        ),
        "UPDATE categories SET title = 'Applications' WHERE id = 1",
    )
    counts = await _execute(url, "SELECT table_name, row_count FROM table_counts ORDER BY 1")
    assert counts == [("categories", 2), ("grids", 1), ("packages", 4)]
    documents = await _execute(
        url,
        "SELECT item_type, item_id, category, popularity FROM search_documents"
        " ORDER BY item_type, item_id",
    )
    assert [row[:3] for row in documents] == [
        ("grid", 1, ""),
        *(("package", package_id, "Applications") for package_id in (1, 2, 3, 4)),
    ]
    assert documents[0][3] == 100 * (5 - 1 - 1 - 0) // 6  # the grid has a package now
    # The (slug, id) index replaces the unique constraint; the CHECK on repo_host stays.
    with pytest.raises(Exception, match=r"(?i)check"):
        await _execute(url, "UPDATE packages SET repo_host = 'sourceforge' WHERE id = 1")


async def test_downgrade_refuses_what_the_old_schema_cannot_hold_and_otherwise_restores_it(
    databases: Databases,
) -> None:
    url = await databases.empty()
    settings = Settings(database_url=url)
    await asyncio.to_thread(upgrade, settings, BEFORE)
    triggers = await _trigger_names(url)
    await asyncio.to_thread(upgrade, settings, REVISION)
    await _execute(
        url,
        _category(1, "apps"),
        _category(2, "apps"),
        _package(1, fetched=None, commits="[]", docs=None),
    )

    with pytest.raises(Exception, match="categories share the slugs 'apps'"):
        await asyncio.to_thread(downgrade, settings, BEFORE)
    await _execute(url, "UPDATE categories SET slug = 'apps-again' WHERE id = 2")
    await asyncio.to_thread(downgrade, settings, BEFORE)

    assert await _trigger_names(url) == triggers
    assert await _execute(url, "SELECT documentation_url FROM packages") == [("",)]
    with pytest.raises(Exception, match=r"(?i)unique"):
        await _execute(url, "UPDATE categories SET slug = 'apps' WHERE id = 2")
