"""Writes the stored facts (app.insights.stored) of packages whose inputs were written.

Every writer of a package's inputs (classifiers, Requires-Python, weekly commits, commit
and release dates, PEP 792 status, deprecation, archival) calls write_facts() with the ids
it wrote, in its own transaction: API writes (app.services.packages), the refresher
(app.refresh.repository.write_many), the importer (app.transfer.loader) and the migration
that added them. It reads the inputs as stored, so it cannot disagree with them however
they were written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.insights.stored import StoredFacts, stored_facts
from app.models import Package, PackageVersion

# Ids per statement: well under SQLite's 32,766 bound parameters.
BATCH = 1000

_PACKAGES = cast(Table, Package.__table__)
_VERSIONS = cast(Table, PackageVersion.__table__)
_INPUTS = select(
    _PACKAGES.c.id,
    _PACKAGES.c.pypi_classifiers,
    _PACKAGES.c.pypi_requires_python,
    _PACKAGES.c.commits_over_52,
    _PACKAGES.c.last_updated,
    _PACKAGES.c.pypi_last_release,
    _PACKAGES.c.pypi_status,
    _PACKAGES.c.date_deprecated,
    _PACKAGES.c.deprecated_by_id,
    _PACKAGES.c.date_repo_archived,
    _PACKAGES.c.commits_last_year,
    _PACKAGES.c.last_activity,
    _PACKAGES.c.standing,
)
_SET_FACTS = (
    update(_PACKAGES)
    .where(_PACKAGES.c.id == bindparam("key_id"))
    .values(
        commits_last_year=bindparam("new_commits_last_year"),
        last_activity=bindparam("new_last_activity", type_=_PACKAGES.c.last_activity.type),
        standing=bindparam("new_standing"),
        # Derived values, not an edit: `modified` stays what the write that caused it set.
        modified=_PACKAGES.c.modified,
    )
)

_DELETE_VERSION = delete(_VERSIONS).where(
    _VERSIONS.c.package_id == bindparam("p"),
    _VERSIONS.c.kind == bindparam("k"),
    _VERSIONS.c.version == bindparam("v"),
)


def facts_of(row: Any) -> StoredFacts:
    """The stored facts of a row holding the input columns."""
    return stored_facts(
        classifiers=row.pypi_classifiers,
        requires_python=row.pypi_requires_python,
        commits_over_52=row.commits_over_52,
        last_commit=row.last_updated,
        last_release=row.pypi_last_release,
        pypi_status=row.pypi_status,
        date_deprecated=row.date_deprecated,
        deprecated_by_id=row.deprecated_by_id,
        repo_archived_at=row.date_repo_archived,
    )


async def write_facts(session: AsyncSession, package_ids: Iterable[int]) -> None:
    """Derive and store the facts of these packages (missing ids are skipped). Flushes the
    session first, so the inputs it reads include the session's pending changes."""
    ids = sorted(set(package_ids))
    if not ids:
        return
    await session.flush()
    connection = await session.connection()
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        rows = (await connection.execute(_INPUTS.where(_PACKAGES.c.id.in_(batch)))).all()
        current = {
            (row.package_id, row.kind, row.version)
            for row in await connection.execute(
                select(_VERSIONS).where(_VERSIONS.c.package_id.in_(batch))
            )
        }
        changed: list[dict[str, Any]] = []
        wanted: set[tuple[int, str, str]] = set()
        for row in rows:
            facts = facts_of(row)
            stored = (row.commits_last_year, row.last_activity, row.standing)
            if stored != (facts.commits_last_year, facts.last_activity, facts.standing):
                changed.append(
                    {
                        "key_id": row.id,
                        "new_commits_last_year": facts.commits_last_year,
                        "new_last_activity": facts.last_activity,
                        "new_standing": facts.standing,
                    }
                )
            wanted |= {(row.id, kind, version) for kind, version in facts.versions}
        if changed:
            await connection.execute(_SET_FACTS, changed)
        stale = current - wanted
        if stale:
            await connection.execute(
                _DELETE_VERSION,
                [{"p": p, "k": k, "v": v} for p, k, v in sorted(stale)],
            )
        missing = wanted - current
        if missing:
            await connection.execute(
                insert(_VERSIONS),
                [
                    {"package_id": package_id, "kind": kind, "version": version}
                    for package_id, kind, version in sorted(missing)
                ],
            )
