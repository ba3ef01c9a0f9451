"""The refresher's queries: pick and claim due packages, write one package's results, release.

Claiming is one short transaction: PostgreSQL locks the picked rows with FOR UPDATE SKIP
LOCKED, so replicas claiming at the same moment pick disjoint packages; SQLite's callers
hold BEGIN IMMEDIATE (the `sqlite_write` option), which serializes claims outright. The
lease (refresh_claimed_by/_until) then outlives the transaction: nobody else picks the
package until it is released or the lease expires (its holder died). A write checks the
lease is still ours under a row lock, so a refresher that lost its lease writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.forges.base import Budget
from app.forges.weeks import WEEKS
from app.models import ForgeBudget, Package, RefreshRun
from app.repositories.base import key_filter
from app.repositories.facts import write_facts


@dataclass(frozen=True, slots=True)
class Selection:
    """Which packages a run refreshes."""

    # Due when last fetched longer ago than this; None: whatever their age (`--all`).
    stale_after: dt.timedelta | None = dt.timedelta(hours=24)
    # False: also packages still in back-off after failures (an operator asked for them).
    respect_backoff: bool = True
    # Only these (by slug or id); empty: every package.
    slugs: tuple[str, ...] = ()
    ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Claimed:
    """A package we hold the lease of, with what fetching it needs."""

    id: int
    slug: str
    repo_url: str | None
    pypi_url: str
    etags: dict[str, str] = field(default_factory=dict)
    pypi_etag: str | None = None
    # False while commits_over_52 is [] (never fetched, or not yet complete): then the
    # forge is asked everything afresh, whatever ETags a partial fetch left.
    weeks_known: bool = True


def _unclaimed(now: dt.datetime) -> ColumnElement[bool]:
    return or_(Package.refresh_claimed_until.is_(None), Package.refresh_claimed_until < now)


def _conditions(
    selection: Selection,
    now: dt.datetime,
    run_started: dt.datetime | None,
    exclude: Collection[int] = (),
) -> list[ColumnElement[bool]]:
    conditions = [_unclaimed(now)]
    if run_started is not None:
        # Claiming stamps refresh_attempted_at, so one run never picks a package twice
        # (a failed one keeps its old last_fetched and would otherwise come straight back).
        conditions.append(
            or_(
                Package.refresh_attempted_at.is_(None),
                Package.refresh_attempted_at < run_started,
            )
        )
    if exclude:
        # Ours in flight whose lease ran out meanwhile: still never twice at once.
        conditions.append(Package.id.not_in(exclude))
    if selection.stale_after is not None:
        cutoff = now - selection.stale_after
        conditions.append(or_(Package.last_fetched.is_(None), Package.last_fetched < cutoff))
    if selection.respect_backoff:
        conditions.append(or_(Package.refresh_retry_at.is_(None), Package.refresh_retry_at <= now))
    if selection.slugs or selection.ids:
        conditions.append(or_(Package.slug.in_(selection.slugs), Package.id.in_(selection.ids)))
    return conditions


async def count_due(
    session: AsyncSession, selection: Selection, now: dt.datetime, run_started: dt.datetime
) -> int:
    total = await session.scalar(
        select(func.count()).select_from(Package).where(*_conditions(selection, now, run_started))
    )
    return int(total or 0)


async def missing_slugs(session: AsyncSession, slugs: Sequence[str]) -> list[str]:
    found = set(await session.scalars(select(Package.slug).where(Package.slug.in_(slugs))))
    return [slug for slug in slugs if slug not in found]


async def claim(
    session: AsyncSession,
    *,
    owner: str,
    selection: Selection,
    now: dt.datetime,
    run_started: dt.datetime | None,
    lease: dt.timedelta,
    limit: int,
    exclude: Collection[int] = (),
) -> list[Claimed]:
    """Lease up to `limit` due packages, least fresh first: never fetched (oldest id first),
    then by last_fetched. Two statements, so each walks ix_packages_last_fetched_id in order
    on both databases (an index cannot say NULLS FIRST on SQLite)."""
    conditions = _conditions(selection, now, run_started, exclude)
    ids: list[int] = []
    phases: list[tuple[ColumnElement[bool], list[Any]]] = [
        (Package.last_fetched.is_(None), [Package.id]),
        (Package.last_fetched.is_not(None), [Package.last_fetched, Package.id]),
    ]
    for phase, order in phases:
        if len(ids) >= limit:
            break
        stmt = (
            select(Package.id)
            .where(*conditions, phase)
            .order_by(*order)
            .limit(limit - len(ids))
            .with_for_update(skip_locked=True)
        )
        ids.extend(await session.scalars(stmt))
    if not ids:
        return []
    await session.execute(
        update(Package)
        .where(Package.id.in_(ids))
        .values(
            refresh_claimed_by=owner,
            refresh_claimed_until=now + lease,
            refresh_attempted_at=now,
            # Bookkeeping, not an edit: a reader's `modified` stays.
            modified=Package.modified,
        )
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(
            Package.id,
            Package.slug,
            Package.repo_url,
            Package.pypi_url,
            Package.refresh_etags,
            Package.refresh_pypi_etag,
            Package.commits_over_52,
        )
        .where(Package.id.in_(ids))
        .order_by(Package.id)
    )
    return [
        Claimed(
            id_,
            slug,
            repo_url,
            pypi_url,
            dict(etags or {}),
            pypi_etag,
            weeks_known=len(weeks or ()) == WEEKS,
        )
        for id_, slug, repo_url, pypi_url, etags, pypi_etag, weeks in rows
    ]


async def lock_if_ours(
    session: AsyncSession, package_ids: Sequence[int], owner: str
) -> dict[int, Package]:
    """The packages whose lease we still hold, by id, under row locks. Missing: another
    refresher took it over (our lease expired) or it was deleted meanwhile."""
    stmt = (
        select(Package)
        .where(Package.id.in_(package_ids), Package.refresh_claimed_by == owner)
        .with_for_update(of=Package)
    )
    return {package.id: package for package in await session.scalars(stmt)}


async def repo_url_owner(session: AsyncSession, repo_url: str, package_id: int) -> str | None:
    """The slug of another package that already has `repo_url`, if any."""
    return await session.scalar(
        select(Package.slug).where(Package.repo_url == repo_url, Package.id != package_id)
    )


async def write_many(session: AsyncSession, rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """One UPDATE per package (every column it changes at once), sent as one executemany
    per set of changed columns. `modified` keeps its value unless a row sets it."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for package_id, values in rows:
        # Bound names differ from column names, which SQLAlchemy reserves in SET clauses.
        params = {"row_id": package_id, **{f"new_{name}": value for name, value in values.items()}}
        groups.setdefault(tuple(sorted(values)), []).append(params)
    table = cast(Table, Package.__table__)
    for columns, params_list in groups.items():
        assignments: dict[str, Any] = {
            column: bindparam(f"new_{column}", type_=table.c[column].type) for column in columns
        }
        assignments.setdefault("modified", table.c.modified)
        stmt = update(table).where(table.c.id == bindparam("row_id")).values(assignments)
        await session.execute(stmt, params_list)
    await write_facts(session, [package_id for package_id, _ in rows])


async def release(session: AsyncSession, owner: str, ids: Sequence[int] | None = None) -> int:
    """Give back leases we hold (all of them, or those of `ids`) without writing results.
    refresh_attempted_at stays, so the same run does not pick them again."""
    condition = Package.refresh_claimed_by == owner
    if ids is not None:
        condition = and_(condition, Package.id.in_(ids))
    result = await session.execute(
        update(Package)
        .where(condition)
        .values(refresh_claimed_by=None, refresh_claimed_until=None, modified=Package.modified)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def package_by_key(session: AsyncSession, key: str) -> tuple[int, str] | None:
    """(id, slug) of the package an id or slug names."""
    row = (
        await session.execute(select(Package.id, Package.slug).where(key_filter(Package, key)))
    ).first()
    return (row[0], row[1]) if row else None


async def package_by_repo_url(
    session: AsyncSession, repo_urls: Sequence[str]
) -> tuple[int, str] | None:
    """(id, slug) of the package with one of `repo_urls` (spellings of one repository:
    an imported repo_url keeps the source's), the lowest id if several."""
    row = (
        await session.execute(
            select(Package.id, Package.slug)
            .where(Package.repo_url.in_(repo_urls))
            .order_by(Package.id)
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


# The runs refresh_runs keeps: enough to see a pattern, never a growing table.
RUNS_KEPT = 50


async def record_run(session: AsyncSession, run: RefreshRun) -> None:
    """Add a finished run and forget all but the newest RUNS_KEPT."""
    session.add(run)
    await session.flush()
    newest = (
        select(RefreshRun.id)
        .order_by(RefreshRun.finished.desc(), RefreshRun.id.desc())
        .limit(RUNS_KEPT)
        .scalar_subquery()
    )
    await session.execute(
        delete(RefreshRun)
        .where(RefreshRun.id.not_in(newest))
        .execution_options(synchronize_session=False)
    )


async def save_budgets(session: AsyncSession, budgets: Sequence[Budget]) -> None:
    """Upsert each (host, resource)'s budget, unless a newer observation is stored already
    (another replica's run may end after ours but have seen the budget earlier)."""
    if not budgets:
        return
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for budget in budgets:
        values = {
            "host": budget.host,
            "resource": budget.resource,
            "forge": budget.forge,
            "remaining": budget.remaining,
            "limit": budget.limit,
            "resets_at": budget.resets_at,
            "observed_at": budget.observed_at,
        }
        stmt = insert(ForgeBudget).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ForgeBudget.host, ForgeBudget.resource],
            set_={name: stmt.excluded[name] for name in values if name not in {"host", "resource"}},
            where=ForgeBudget.observed_at < stmt.excluded.observed_at,
        )
        await session.execute(stmt)
