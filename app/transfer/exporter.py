"""Export: the whole directory, streamed out of the database in the export format.

Tokens are never exported (they are secrets, and a token belongs to one instance), nor is
refresh bookkeeping (refresh_error, its time, the failure count): it is this instance's
history with the forges, not the directory's data, and the importing instance should try
for itself. repo_host is not exported either: it follows from repo_url.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Category, Element, Feature, Grid, GridPackage, Package
from app.transfer import format as fmt
from app.transfer.records import KINDS, Kind

# Lines are handed to the writer (a thread: file writes block) this many at a time.
CHUNK = 2000


def _queries() -> dict[Kind, Any]:
    # Any: each section selects different columns.
    return {
        "categories": select(Category.__table__).order_by(Category.id),
        "grids": select(Grid.__table__).order_by(Grid.id),
        "packages": select(Package.__table__).order_by(Package.id),
        "memberships": select(
            GridPackage.grid_id.label("grid"),
            GridPackage.package_id.label("package"),
            GridPackage.created,
        ).order_by(GridPackage.grid_id, GridPackage.package_id),
        "features": select(
            Feature.id,
            Feature.grid_id.label("grid"),
            Feature.title,
            Feature.description,
            Feature.created,
            Feature.modified,
        ).order_by(Feature.id),
        "elements": select(
            Element.feature_id.label("feature"),
            GridPackage.package_id.label("package"),
            Element.text,
            Element.created,
            Element.modified,
        )
        .join(GridPackage, GridPackage.id == Element.grid_package_id)
        .order_by(Element.feature_id, GridPackage.package_id),
    }


def _package(row: Any) -> dict[str, Any]:
    record = dict(row)
    record["category"] = record["category_id"]
    record["deprecated_by"] = record["deprecated_by_id"]
    record["repo_url"] = record["repo_url"] or ""
    return record


async def export(session: AsyncSession, write: Callable[[str], Any]) -> dict[Kind, int]:
    """Write the whole directory through `write` (a blocking text writer, called in a
    thread); returns how many records of each kind were written."""
    counts: dict[Kind, int] = {}
    chunk: list[str] = [fmt.header()]

    async def drain() -> None:
        text = "".join(chunk)
        chunk.clear()
        await asyncio.to_thread(write, text)

    for kind, query in _queries().items():
        chunk.append(fmt.section_start(kind))
        counts[kind] = 0
        result = await session.stream(query.execution_options(yield_per=CHUNK))
        async for row in result.mappings():
            record: Mapping[str, Any] = _package(row) if kind == "packages" else dict(row)
            chunk.append(fmt.record_line(kind, record, first=counts[kind] == 0))
            counts[kind] += 1
            if len(chunk) >= CHUNK:
                await drain()
        chunk.append(fmt.section_end())
    chunk.append(fmt.footer())
    await drain()
    assert list(counts) == list(KINDS)
    return counts
