"""The status resource's queries: counts, the refresher's state, the newest change.

Every figure is one indexed probe or one counted scan of `packages` narrowed by the
refresher's columns; the router caches the whole answer for a few seconds, so a poller
cannot turn these into load.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Category, ForgeBudget, Grid, Package, RefreshRun
from app.repositories.counts import COUNTED_TABLES, table_count

# The resource name of each table whose newest change is reported.
CHANGING: dict[str, type[Package] | type[Category] | type[Grid]] = {
    "package": Package,
    "category": Category,
    "grid": Grid,
}
# Failing packages without a known forge: no repository at all (their PyPI fetch failed),
# or a repository on a host no forge is configured for.
NO_REPOSITORY = "none"
OTHER_HOST = "other"


@dataclass(frozen=True, slots=True)
class LastRun:
    worker: str
    started: dt.datetime
    finished: dt.datetime
    outcome: str
    packages: dict[str, int]
    requests: int
    failure: str


@dataclass(frozen=True, slots=True)
class NewestChange:
    resource: str
    id: int
    modified: dt.datetime


@dataclass(slots=True)
class StatusFacts:
    counts: dict[str, int]
    last_run: LastRun | None
    due: int
    pending: int
    in_progress: int
    failing: dict[str, int]
    budgets: list[ForgeBudget] = field(default_factory=list)
    newest_change: NewestChange | None = None


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows of packages, categories and grids, from the trigger-kept counters."""
    totals: dict[str, int] = {}
    for table in COUNTED_TABLES:
        total = await table_count(session, table)
        if total is None:  # no counter row (a restore that skipped the triggers): count
            model = {"packages": Package, "categories": Category, "grids": Grid}[table]
            total = int(await session.scalar(select(func.count()).select_from(model)) or 0)
        totals[table] = total
    return totals


async def last_run(session: AsyncSession) -> LastRun | None:
    row = await session.scalar(
        select(RefreshRun).order_by(RefreshRun.finished.desc(), RefreshRun.id.desc()).limit(1)
    )
    if row is None:
        return None
    return LastRun(
        worker=row.worker,
        started=row.started,
        finished=row.finished,
        outcome=row.outcome,
        packages=dict(row.packages),
        requests=row.requests,
        failure=row.failure,
    )


# As the partial index ix_packages_failing says it, so both databases see they match (a
# bound parameter would hide that the query implies the index's condition).
_FAILED = Package.refresh_error != literal_column("''")


async def due(session: AsyncSession, stale_after: dt.timedelta, now: dt.datetime) -> int:
    """Packages the periodic loop would claim now: stale or never fetched, and neither
    leased nor waiting (a back-off, a forge still computing). The stale ones minus the few
    that wait: two index-only counts and a look at the waiting, never a table scan."""
    cutoff = now - stale_after
    stale = or_(Package.last_fetched.is_(None), Package.last_fetched < cutoff)
    never = await session.scalar(
        select(func.count()).select_from(Package).where(Package.last_fetched.is_(None))
    )
    old = await session.scalar(
        select(func.count()).select_from(Package).where(Package.last_fetched < cutoff)
    )
    waiting = await session.scalar(
        select(func.count())
        .select_from(Package)
        .where(or_(Package.refresh_claimed_until >= now, Package.refresh_retry_at > now), stale)
    )
    return int(never or 0) + int(old or 0) - int(waiting or 0)


async def pending(session: AsyncSession, now: dt.datetime) -> int:
    """Packages a forge is still computing figures for: asked again at refresh_retry_at,
    with no error recorded (a failure's back-off has one)."""
    total = await session.scalar(
        select(func.count())
        .select_from(Package)
        .where(Package.refresh_retry_at > now, Package.refresh_error == "")
    )
    return int(total or 0)


async def in_progress(session: AsyncSession, now: dt.datetime) -> int:
    """Packages a refresher holds a live lease on: being fetched now."""
    total = await session.scalar(
        select(func.count()).select_from(Package).where(Package.refresh_claimed_until > now)
    )
    return int(total or 0)


async def failing_by_forge(session: AsyncSession) -> dict[str, int]:
    """Packages whose last refresh failed, by repository host (`none`: no repository;
    `other`: a host no forge serves)."""
    has_repository = Package.repo_url.is_not(None)
    rows = await session.execute(
        select(Package.repo_host, has_repository, func.count())
        .where(_FAILED)
        .group_by(Package.repo_host, has_repository)
    )
    failing: dict[str, int] = {}
    for host, repository, total in rows:
        name = host or (OTHER_HOST if repository else NO_REPOSITORY)
        failing[name] = failing.get(name, 0) + int(total)
    return dict(sorted(failing.items()))


async def budgets(session: AsyncSession) -> list[ForgeBudget]:
    return list(
        await session.scalars(
            select(ForgeBudget).order_by(ForgeBudget.forge, ForgeBudget.host, ForgeBudget.resource)
        )
    )


async def newest_change(session: AsyncSession) -> NewestChange | None:
    """The most recently modified package, category or grid (one index probe each)."""
    newest: NewestChange | None = None
    for resource, model in CHANGING.items():
        row = (
            await session.execute(
                select(model.id, model.modified).order_by(model.modified.desc()).limit(1)
            )
        ).first()
        if row is not None and (newest is None or row[1] > newest.modified):
            newest = NewestChange(resource, row[0], row[1])
    return newest


async def status_facts(
    session: AsyncSession, *, stale_after: dt.timedelta, now: dt.datetime
) -> StatusFacts:
    return StatusFacts(
        counts=await counts(session),
        last_run=await last_run(session),
        due=await due(session, stale_after, now),
        pending=await pending(session, now),
        in_progress=await in_progress(session, now),
        failing=await failing_by_forge(session),
        budgets=await budgets(session),
        newest_change=await newest_change(session),
    )
