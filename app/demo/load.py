"""Loading the demo directory, in one transaction, through the importer's own code.

The demo is a starting point, never a replacement. It is written into a database whose
directory is empty (API tokens do not count); a database that already holds it is left
as it is; one that holds another directory is left alone too unless `force`, and then
the demo is loaded as `packages-api import` loads a file: an upsert by id that deletes
nothing and refuses what conflicts. Whether to commit is decided after the load, inside
its transaction, so a refusal writes nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.models import Category, Grid, Package
from app.repositories.counts import table_count
from app.transfer.jobs import loading
from app.transfer.progress import NoProgress
from app.transfer.source_file import FileSource
from app.transfer.summary import Summary

DEMO_FILE = Path(__file__).with_name("directory.json")


@dataclass(frozen=True, slots=True)
class DirectorySize:
    """How much of a directory a database holds."""

    packages: int
    categories: int
    grids: int

    @property
    def is_empty(self) -> bool:
        return not (self.packages or self.categories or self.grids)

    def __str__(self) -> str:
        """`46 packages, 4 categories, 5 grids`."""
        return ", ".join(
            f"{count} {singular if count == 1 else plural}"
            for count, singular, plural in (
                (self.packages, "package", "packages"),
                (self.categories, "category", "categories"),
                (self.grids, "grid", "grids"),
            )
        )


async def directory_size(session: AsyncSession) -> DirectorySize:
    """Exact counts, read from the trigger-kept counters (no table scan)."""
    counts = []
    for model in (Package, Category, Grid):
        count = await table_count(session, model.__tablename__)
        if count is None:  # no counter row (a restore without it): count the rows
            count = int(await session.scalar(select(func.count()).select_from(model)) or 0)
        counts.append(count)
    return DirectorySize(*counts)


async def read_directory_size(settings: Settings) -> DirectorySize:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await directory_size(session)
    finally:
        await engine.dispose()


class Outcome(StrEnum):
    LOADED = "loaded"  # written and committed (summary says what)
    ALREADY = "already"  # the database holds the demo as shipped: nothing to write
    CHANGED = "changed"  # it holds the demo, changed since (refreshed, edited): left as is
    OTHER = "other"  # it holds another directory: left as is (force loads anyway)
    NOT_EMPTY = "not_empty"  # only_if_empty, and the directory is not: not even read


@dataclass(frozen=True, slots=True)
class DemoLoad:
    outcome: Outcome
    # What the database held before.
    held: DirectorySize
    # What loading did (or, not committed, would have done); None when not loaded at all.
    summary: Summary | None = None


def _judge(held: DirectorySize, summary: Summary, *, force: bool) -> Outcome:
    counts = summary.counts.values()
    created = any(count.created for count in counts)
    if not summary.refused and not created and not any(count.updated for count in counts):
        return Outcome.ALREADY
    if held.is_empty or force:
        return Outcome.LOADED
    # Every demo record is there, some with other values: refreshed figures, edits.
    return Outcome.CHANGED if not created and not summary.refused else Outcome.OTHER


async def load_demo(
    settings: Settings, *, force: bool = False, only_if_empty: bool = False
) -> DemoLoad:
    """Load the demo directory (see the module's docstring for when it commits).

    Raises FormatError if the demo file cannot be read; database errors come out as they are.
    """
    async with loading(settings) as loader:
        # Inside the load's transaction, which on SQLite already holds the write lock.
        held = await directory_size(loader.session)
        if only_if_empty and not held.is_empty:
            return DemoLoad(Outcome.NOT_EMPTY, held)
        await FileSource(str(DEMO_FILE)).feed(loader, NoProgress())
        summary = await loader.finish()
        outcome = _judge(held, summary, force=force)
        if outcome is Outcome.LOADED:
            await loader.session.commit()
        else:
            await loader.session.rollback()
        return DemoLoad(outcome, held, summary)
