"""The database tells the read cache of every write: each table an answer is read from has
its triggers at the head revision (a later migration that rebuilds a SQLite table would
drop them silently), and a migration tells every worker to forget everything."""

from __future__ import annotations

from sqlalchemy import text

from app.cache.versions import forget_every_cached_answer
from app.config import Settings
from app.db import create_engine
from tests.cache.conftest import Live, _cache
from tests.conftest import Databases

WATCHED = {
    "packages",
    "grids",
    "categories",
    "grid_packages",
    "features",
    "elements",
    "search_documents",
}


async def test_every_table_answers_are_read_from_has_its_triggers(databases: Databases) -> None:
    url = await databases.fresh()
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                rows = await connection.execute(
                    text(
                        "SELECT event_object_table, event_manipulation"
                        " FROM information_schema.triggers"
                        " WHERE trigger_name LIKE 'packages_api_cache_%'"
                    )
                )
                found = {(table, event.lower()) for table, event in rows}
                truncates = await connection.execute(
                    text(
                        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                        " WHERE t.tgname = 'packages_api_cache_truncate'"
                    )
                )
                found |= {(table, "truncate") for (table,) in truncates}
                events: tuple[str, ...] = ("insert", "update", "delete", "truncate")
            else:
                rows = await connection.execute(
                    text(
                        "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
                        " AND name LIKE 'packages_api_cache_%'"
                    )
                )
                found = {(table, name.rsplit("_", 1)[1]) for table, name in rows}
                events = ("insert", "update", "delete")
    finally:
        await engine.dispose()
    assert found == {(table, event) for table in WATCHED for event in events}


async def test_a_migration_makes_every_worker_forget_everything(live: Live) -> None:
    await live.client.get("/api/v4/packages/alpha/")
    assert _cache(await live.client.get("/api/v4/packages/alpha/")) == "hit"

    engine = create_engine(Settings(database_url=live.url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(forget_every_cached_answer)
    finally:
        await engine.dispose()

    answer = await live.until_fresh("/api/v4/packages/alpha/", lambda _body: True)
    for _ in range(50):  # PostgreSQL: the notification may come a moment later
        if _cache(answer) == "miss":
            break
        answer = await live.client.get("/api/v4/packages/alpha/")
    assert _cache(answer) == "miss"
