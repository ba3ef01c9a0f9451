"""What /readyz checks: the database answers, its schema is at the newest migration, and
the refresher (when this process runs one) is not stuck."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import migrate

logger = logging.getLogger("packages_api.readiness")


class Refresher(Protocol):
    """What /readyz needs of the refresher (app/refresh): whether its loop is stuck."""

    def stuck(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


def _schema_revision(connection: Connection) -> str | None:
    """The revision in alembic_version (None before the first migration). Read directly:
    Alembic's MigrationContext logs two INFO lines per use, which every probe would repeat."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(revision) if revision is not None else None


class Readiness:
    """Runs the checks; the head revision is read from the migration scripts once."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._head: str | None = None

    async def head(self) -> str | None:
        if self._head is None:
            # Reads the migration scripts from disk: off the event loop, once per process.
            self._head = await asyncio.to_thread(migrate.head_revision)
        return self._head

    async def database(self, engine: AsyncEngine) -> tuple[Check, str | None]:
        """SELECT 1 and the schema's revision, on one connection, within the timeout."""
        try:
            async with asyncio.timeout(self.timeout), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                current = await connection.run_sync(_schema_revision)
        except TimeoutError:
            return Check(False, f"no answer within {self.timeout:g} s"), None
        except Exception as error:  # any failure to reach it means "not ready"
            # The class only: a driver's message may quote the connection string.
            logger.warning("readiness: database unreachable: %s", type(error).__name__)
            return Check(False, f"unreachable ({type(error).__name__})"), None
        return Check(True, "reachable"), current

    async def migrations(self, current: str | None, reachable: bool) -> Check:
        if not reachable:
            return Check(False, "unknown: the database is unreachable")
        head = await self.head()
        if current != head:
            return Check(False, f"at {current or 'no revision'}, expected {head}")
        return Check(True, f"at head {head}")

    @staticmethod
    def refresher(refresher: Refresher | None) -> Check:
        if refresher is None:
            return Check(True, "not running in this process")
        if refresher.stuck():
            return Check(False, "stuck: no progress within its expected interval")
        return Check(True, "running")

    async def run(self, engine: AsyncEngine, refresher: Refresher | None) -> dict[str, Check]:
        database, current = await self.database(engine)
        return {
            "database": database,
            "migrations": await self.migrations(current, database.ok),
            "refresher": self.refresher(refresher),
        }
