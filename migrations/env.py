"""Alembic environment: async engine, the URL from the service's settings.

A caller may hand over an open sync connection in `config.attributes["connection"]`
(to migrate inside a transaction of its own); otherwise we connect ourselves, and an
upgrade is one transaction on both dialects: if a migration fails, the database is left
as it was.
"""

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app import models  # noqa: F401  (registers every table on the metadata)
from app.cache.versions import forget_every_cached_answer
from app.columns import Base
from app.config import get_settings
from app.migrate import COMPARE_OPTIONS

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url")
    return str(url) if url else get_settings().database_url.get_secret_value()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates tables instead.
        render_as_batch=sqlite,
        # SQLite's DDL is transactional too, once the driver lets us say BEGIN (below).
        transactional_ddl=True if sqlite else None,
        **COMPARE_OPTIONS,
    )
    with context.begin_transaction():
        before = context.get_context().get_current_heads()
        context.run_migrations()
        if context.get_context().get_current_heads() != before:
            forget_every_cached_answer(connection)


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """Left alone, pysqlite runs DDL outside any transaction: a migration failing halfway
    would leave half a schema behind. Emit BEGIN ourselves, as app.db does (the recipe in
    SQLAlchemy's SQLite dialect docs). Foreign keys stay off, as batch mode needs."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
