"""The search migration's database-only objects: made on upgrade, every one gone on downgrade,
and invisible to the models-vs-migrations comparison (which still sees everything else)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db import create_engine
from app.migrate import downgrade, include_name, upgrade
from tests.conftest import Databases

SEARCH_REVISION_PARENT = "eb8802af9215"


async def _search_objects(url: str) -> set[str]:
    """Tables, triggers and functions whose names start with `search_`."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            return await _names(connection)
    finally:
        await engine.dispose()


async def _names(connection: AsyncConnection) -> set[str]:
    if connection.dialect.name == "sqlite":
        rows = await connection.execute(
            text("SELECT type || ':' || name FROM sqlite_master WHERE name LIKE 'search%'")
        )
    else:
        rows = await connection.execute(
            text(
                "SELECT 'table:' || tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename LIKE 'search%'"
                " UNION ALL SELECT 'trigger:' || tgname FROM pg_trigger WHERE tgname LIKE 'search%'"
                " UNION ALL SELECT 'function:' || proname FROM pg_proc"
                " WHERE proname LIKE 'search%'"
                " UNION ALL SELECT 'extension:' || extname FROM pg_extension"
                " WHERE extname = 'pg_trgm'"
            )
        )
    return {str(name) for name in rows.scalars()}


async def test_upgrade_makes_the_search_objects_and_downgrade_removes_them(
    databases: Databases,
) -> None:
    url = await databases.empty()
    settings = Settings(database_url=url)
    await asyncio.to_thread(upgrade, settings)
    made = await _search_objects(url)

    tables = {name for name in made if name.startswith("table:")}
    triggers = {name for name in made if name.startswith("trigger:")}
    if databases.dialect == "sqlite":
        assert {"table:search_documents", "table:search_fts"} <= tables
        assert any(name.startswith("table:search_fts_") for name in tables)  # FTS5 shadows
    else:
        assert tables == {"table:search_documents"}
        assert "extension:pg_trgm" in made
        assert "function:search_index_packages" in made
    # Inserts, updates and deletes of packages, grids and memberships, category renames.
    assert {
        f"trigger:search_{t}_{e}"
        for t in ("packages", "grids", "memberships")
        for e in (
            "insert",
            "update",
            "delete",
        )
    } | {"trigger:search_categories_update"} <= triggers

    await asyncio.to_thread(downgrade, settings, SEARCH_REVISION_PARENT)
    assert await _search_objects(url) == set()

    await asyncio.to_thread(upgrade, settings)
    assert await _search_objects(url) == made


async def test_upgrading_a_filled_database_indexes_what_is_there(databases: Databases) -> None:
    url = await databases.empty()
    settings = Settings(database_url=url)
    await asyncio.to_thread(upgrade, settings, SEARCH_REVISION_PARENT)
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO categories (id, title, slug, description, title_plural,"
                    " show_pypi, created, modified)"
                    " VALUES (1, 'Apps', 'apps', '', '', true, '2026-01-01', '2026-01-01')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO packages (id, title, slug, category_id, repo_host,"
                    " repo_description, repo_watchers, repo_forks, participants,"
                    " commits_over_52, pypi_url, documentation_url, pypi_classifiers, score,"
                    " refresh_error, refresh_failures, created, modified)"
                    " VALUES (1, 'django-anvil', 'django-anvil', 1, '', 'Forges', 0, 0, '[]',"
                    " '[]', '', '', '[]', 0, '', 0, '2026-01-01', '2026-01-01')"
                )
            )
        await asyncio.to_thread(upgrade, settings)
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT title, category FROM search_documents"))
            assert rows.all() == [("django-anvil", "Apps")]
    finally:
        await engine.dispose()


def test_only_the_search_tables_are_hidden_from_autogenerate() -> None:
    hidden = ["search_documents", "search_fts", "search_fts_data", "search_fts_idx"]
    assert not any(include_name(name, "table", {}) for name in hidden)
    # Everything else is still compared, including a model table that merely looks alike.
    for name in ["packages", "grids", "search_history", "search_documents_archive"]:
        assert include_name(name, "table", {})
    assert include_name("search_documents", "column", {"table_name": "x"})
