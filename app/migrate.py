"""Running the Alembic migrations from code (the CLI, `serve` on start, and the tests)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Search storage: made and kept by the search migration's SQL and triggers, not by the
# models (a tsvector table on PostgreSQL; an FTS5 table and its shadow tables on SQLite).
# Row counts likewise (the table_counts migration; app/repositories/counts.py reads them),
# and the read cache's versions on SQLite (migration c4f8a2e6b9d1; app/cache/sqlite.py).
DATABASE_ONLY_TABLES = re.compile(
    r"search_documents|search_fts(_[a-z]+)?|table_counts|table_count_flushes|cache_versions"
)


def include_name(name: str | None, type_: str, _parents: Mapping[str, str | None]) -> bool:
    """Autogenerate leaves the database-only tables (and so their columns and indexes) alone."""
    return not (type_ == "table" and name is not None and DATABASE_ONLY_TABLES.fullmatch(name))


# What autogenerate compares: `alembic revision --autogenerate` and the drift test alike.
COMPARE_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "compare_server_default": True,
    "include_name": include_name,
}


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Blocking: call it outside the event loop (it runs its own)."""
    command.upgrade(alembic_config(settings.database_url.get_secret_value()), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    command.downgrade(alembic_config(settings.database_url.get_secret_value()), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current_revision(connection: AsyncConnection) -> str | None:
    return await connection.run_sync(
        lambda sync: MigrationContext.configure(sync).get_current_revision()
    )
