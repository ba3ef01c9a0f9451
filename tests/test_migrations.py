"""The migrations: they build the models' schema, undo it, and stay in step with the models."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Integer, MetaData, inspect
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models  # noqa: F401  (registers every table on the metadata)
from app.columns import Base
from app.config import Settings
from app.db import create_engine
from app.migrate import (
    COMPARE_OPTIONS,
    PROJECT_ROOT,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    include_name,
    upgrade,
)
from tests.conftest import Databases

APP_TABLES = set(Base.metadata.tables)


async def _inspect(url: str, look: Any) -> Any:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            return await look(connection)
    finally:
        await engine.dispose()


async def _schema(url: str) -> tuple[set[str], str | None]:
    """The model tables in the database, and the revision Alembic says it is at.

    Search's database-only tables are left out here; tests/test_search_schema.py checks them.
    """

    async def look(connection: AsyncConnection) -> tuple[set[str], str | None]:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        tables = {name for name in names if include_name(name, "table", {})}
        return tables, await current_revision(connection)

    result: tuple[set[str], str | None] = await _inspect(url, look)
    return result


async def _differences(url: str, metadata: MetaData) -> list[Any]:
    """What `alembic revision --autogenerate` would write to bring the database to `metadata`."""

    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(
            sync, opts={**COMPARE_OPTIONS, "target_metadata": metadata}
        )
        return list(compare_metadata(context, metadata))

    async def look(connection: AsyncConnection) -> list[Any]:
        return await connection.run_sync(compare)

    result: list[Any] = await _inspect(url, look)
    return result


async def test_upgrade_downgrade_upgrade_round_trips(databases: Databases) -> None:
    url = await databases.empty()
    settings = Settings(database_url=url)
    head = head_revision()
    assert head is not None

    # env.py runs its own event loop, so Alembic goes to a thread.
    await asyncio.to_thread(upgrade, settings)
    assert await _schema(url) == (APP_TABLES | {"alembic_version"}, head)

    await asyncio.to_thread(downgrade, settings)
    assert await _schema(url) == ({"alembic_version"}, None)

    await asyncio.to_thread(upgrade, settings)
    assert await _schema(url) == (APP_TABLES | {"alembic_version"}, head)


async def test_upgrading_a_database_at_head_changes_nothing(databases: Databases) -> None:
    url = await databases.fresh()
    before = await _schema(url)
    await asyncio.to_thread(upgrade, Settings(database_url=url))
    assert await _schema(url) == before
    assert await _differences(url, Base.metadata) == []


async def test_the_models_match_the_migrations(databases: Databases) -> None:
    # A model changed without a migration fails here: write one with
    # `alembic revision --autogenerate -m "what changed"` and review it.
    differences = await _differences(await databases.fresh(), Base.metadata)
    assert differences == []


async def test_a_model_change_without_a_migration_is_noticed(databases: Databases) -> None:
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["packages"].append_column(Column("stars_last_week", Integer, nullable=True))
    changed.tables["api_tokens"].c.scope.nullable = True

    differences = await _differences(await databases.fresh(), changed)

    added = [d for d in differences if isinstance(d, tuple) and d[0] == "add_column"]
    assert [(table, column.name) for _, _, table, column in added] == [
        ("packages", "stars_last_week")
    ]
    nullable = [
        change[2:4]
        for group in differences
        if isinstance(group, list)
        for change in group
        if change[0] == "modify_nullable"
    ]
    assert nullable == [("api_tokens", "scope")]


BROKEN_MIGRATION = '''"""A migration that fails halfway."""
import sqlalchemy as sa
from alembic import op

revision = "0badc0ffee00"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("packages", sa.Column("half_done", sa.Integer, nullable=True))
    op.execute("SELECT * FROM no_such_table")


def downgrade() -> None:
    pass
'''


async def test_a_failed_migration_leaves_the_database_as_it_was(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    before = await _schema(url)
    # Our env.py and migrations, plus one that fails after changing the schema.
    scripts = tmp_path / "migrations"
    shutil.copytree(
        PROJECT_ROOT / "migrations", scripts, ignore=shutil.ignore_patterns("__pycache__")
    )
    broken = scripts / "versions" / "2999_01_01_0000-0badc0ffee00_broken.py"
    broken.write_text(BROKEN_MIGRATION.format(head=head_revision()))
    config = alembic_config(url)
    config.set_main_option("script_location", str(scripts))

    with pytest.raises(Exception, match="no_such_table"):
        await asyncio.to_thread(command.upgrade, config, "head")

    assert await _schema(url) == before
    assert await _differences(url, Base.metadata) == []


def test_the_migrations_form_one_line_of_history() -> None:
    scripts = ScriptDirectory.from_config(alembic_config(""))
    assert len(scripts.get_heads()) == 1
    revisions = list(scripts.walk_revisions())
    assert revisions[-1].down_revision is None
    for revision in revisions:
        # Date-slug names sort in the order they were written.
        assert revision.path is not None
        assert re.fullmatch(
            rf"\d{{4}}_\d{{2}}_\d{{2}}_\d{{4}}-{revision.revision}_[a-z0-9_]+\.py",
            revision.path.rsplit("/", 1)[-1],
        ), revision.path
