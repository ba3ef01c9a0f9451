"""`packages-api sync SOURCE`: keep this database a mirror of another directory.

Against a packages-api, it follows SOURCE's change feed (GET /api/v4/changes/) from the
seq stored for SOURCE in `sync_state`: each page of events is applied in one transaction
that also stores the page's last seq, so a crash loses or skips nothing (the page is
fetched again by the next run) and re-applying is harmless (every write is an upsert by id).
Created and updated resources are fetched at their `url` and upserted by the importer's
Loader (the same rules as `import`); deleted ones are deleted through the services.

A full import (app.transfer.jobs.run_import) runs instead when there is no stored seq,
when SOURCE has no change feed (a djangopackages-compatible API: /changes/ is a 404), or
when the stored seq is older than the feed keeps (410). The feed's newest seq is read
BEFORE the import starts and stored after it: a change committed during the import is
applied again by the next run, never missed.

One run per source at a time: a session-level advisory lock on PostgreSQL, an flock on a
file next to the database on SQLite; a second run finds it held and skips. Even without
it, a page is applied only if the stored seq is still the one it was read after (checked
under the state row's lock, or SQLite's write lock), so no event is applied twice out of
order.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import urljoin

from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.changes import record as feed
from app.columns import utcnow
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.models import Category, Grid, GridPackage, Package, SyncState
from app.services.categories import CategoryService
from app.services.grids import GridService
from app.services.packages import PackageService
from app.transfer.jobs import ImportResult, run_import
from app.transfer.loader import Loader
from app.transfer.records import RecordError, SourceLinks, grid_from_api, package_from_api
from app.transfer.source_http import FetchError, HttpSource
from app.transfer.summary import Summary

PAGE_SIZE = 500
# The largest `after` the feed accepts (18 digits): a page past every event, which says
# only where the feed stands (`newest`).
FAR_AFTER = "9" * 18
# Upserts in dependency order; deletions in the reverse.
UPSERT_ORDER = ("categories", "packages", "grids")


class SyncError(Exception):
    """The sync stopped: why. What was committed before stays (and is stored)."""


@dataclass(slots=True)
class SyncResult:
    mode: Literal["full", "changes", "skipped"]
    seq: int | None = None
    events: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    imported: ImportResult | None = None

    def line(self, source: str) -> str:
        if self.mode == "skipped":
            return f"skipped: another sync of {source} is running"
        at = f"seq {self.seq}" if self.seq is not None else "no change feed"
        if self.mode == "full":
            assert self.imported is not None
            done = ", ".join(
                f"{kind}: {c.created} new, {c.updated} updated"
                for kind, c in self.imported.summary.counts.items()
                if c.created or c.updated
            )
            return f"full import from {source} ({done or 'nothing new'}; now at {at})"
        done = ", ".join(f"{count} {what}" for what, count in self.counts.items() if count)
        return f"{self.events} change(s) from {source} ({done or 'nothing new'}; now at {at})"


async def run_sync(settings: Settings, source_url: str, *, attempts: int = 4) -> SyncResult:
    """Bring the database up to date with the packages-api (or djangopackages API) at
    `source_url`. Raises SyncError (or FetchError) when it cannot finish."""
    source = HttpSource(source_url, attempts=attempts)
    key = source.root_url
    engine = create_engine(settings, job=True)
    try:
        sessions = create_sessionmaker(
            engine, changes_retention_days=settings.changes_retention_days
        )
        async with _one_run(settings, engine, key) as held:
            if not held:
                return SyncResult("skipped")
            stored = await _stored_seq(sessions, key)
            async with source.connected():
                root = await source.get_json(source.root_url)
                links = _links(source, root)
                changes_url = urljoin(source.root_url, "changes/")
                if stored is not None:
                    followed = await _follow(
                        source, sessions, settings, key, links, changes_url, stored
                    )
                    if followed is not None:
                        return followed
                probe = await source.get_json(f"{changes_url}?after={FAR_AFTER}", missing_ok=True)
            newest = probe.get("newest") if isinstance(probe, dict) else None
            imported = await run_import(settings, source)
            if not imported.committed or imported.error or imported.summary.refused:
                why = imported.error or f"{len(imported.summary.refused)} record(s) refused"
                raise SyncError(f"full import from {key}: {why}; the position is not stored")
            await _store_full(sessions, key, newest if isinstance(newest, int) else None)
            return SyncResult(
                "full", seq=newest if isinstance(newest, int) else None, imported=imported
            )
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _one_run(settings: Settings, engine: AsyncEngine, key: str) -> AsyncIterator[bool]:
    """Whether this run holds the source's lock (held until the block ends)."""
    if settings.is_sqlite:
        database = make_url(settings.database_url.get_secret_value()).database
        if not database or database == ":memory:":
            yield True
            return
        # A small local file, opened once per run: no need for a thread.
        with open(f"{database}.sync.lock", "a") as handle:  # noqa: ASYNC230
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    number = lock_number(key)
    async with engine.connect() as connection:
        held = bool(await connection.scalar(select(func.pg_try_advisory_lock(number))))
        await connection.commit()
        try:
            yield held
        finally:
            if held:
                await connection.scalar(select(func.pg_advisory_unlock(number)))
                await connection.commit()


def lock_number(key: str) -> int:
    """The PostgreSQL advisory lock key of the syncs of the source at `key`."""
    return int.from_bytes(hashlib.sha256(f"sync {key}".encode()).digest()[:8], "big", signed=True)


def _links(source: HttpSource, root: Any) -> SourceLinks:
    names = ("categories", "grids", "packages")
    if not isinstance(root, dict) or not all(isinstance(root.get(n), str) for n in names):
        raise FetchError(f"{source.root_url} is not a djangopackages-compatible API root")
    return SourceLinks({name: urljoin(source.root_url, root[name]) for name in names})


async def _stored_seq(sessions: async_sessionmaker[AsyncSession], key: str) -> int | None:
    async with sessions() as session:
        return await session.scalar(select(SyncState.last_seq).where(SyncState.source == key))


async def _state(session: AsyncSession, key: str) -> SyncState:
    """The source's row, locked for this transaction (SQLite: the write lock is held)."""
    await session.connection(execution_options={"sqlite_write": True})
    state = await session.scalar(select(SyncState).where(SyncState.source == key).with_for_update())
    if state is None:
        state = SyncState(source=key)
        session.add(state)
        await session.flush()
    return state


async def _store_full(
    sessions: async_sessionmaker[AsyncSession], key: str, newest: int | None
) -> None:
    async with sessions() as session:
        state = await _state(session, key)
        state.last_seq = newest
        state.last_full_import_at = utcnow()
        await session.commit()


async def _follow(
    source: HttpSource,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    key: str,
    links: SourceLinks,
    changes_url: str,
    position: int,
) -> SyncResult | None:
    """Apply the feed's events after `position`, a page per transaction. None: the feed
    cannot continue from there (no feed, or past its retention): a full import is due."""
    result = SyncResult("changes", seq=position)
    url = f"{changes_url}?after={position}&limit={PAGE_SIZE}"
    while True:
        page = await source.get_json(url, missing_ok=True)
        if page in (404, 410):
            return None
        if not (isinstance(page, dict) and isinstance(page.get("results"), list)):
            raise FetchError(f"{url} is not a page of the change feed")
        events = [e for e in page["results"] if isinstance(e, dict) and e.get("seq", 0) > position]
        if not events:
            return result
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        for event in sorted(events, key=lambda e: int(e["seq"])):
            latest[(str(event["resource"]), int(event["id"]))] = event
        wanted = [k for k, e in latest.items() if e.get("kind") != "deleted"]
        for resource_key in wanted:
            source._check_origin(str(latest[resource_key]["url"]), "the change feed links")
        bodies = await asyncio.gather(
            *(source.get_json(str(latest[k]["url"]), missing_ok=True) for k in wanted)
        )
        found = {k: body for k, body in zip(wanted, bodies, strict=True)}
        last = max(int(e["seq"]) for e in events)
        async with sessions() as session:
            state = await _state(session, key)
            if state.last_seq != position:
                raise SyncError(
                    f"another sync of {key} moved its position to {state.last_seq}; "
                    "run again to continue from there"
                )
            counts = await _apply(session, settings, links, latest, found)
            state.last_seq = last
            await session.commit()
        for what, count in counts.items():
            result.counts[what] = result.counts.get(what, 0) + count
        result.events += len(events)
        result.seq = position = last
        following = page.get("next")
        if not isinstance(following, str):
            return result
        url = urljoin(url, following)
        source._check_origin(url, "the change feed links")


async def _apply(
    session: AsyncSession,
    settings: Settings,
    links: SourceLinks,
    latest: Mapping[tuple[str, int], dict[str, Any]],
    found: Mapping[tuple[str, int], Any],
) -> dict[str, int]:
    """One page's resources, as the source has them now: upserted, then deleted."""
    loader = Loader(session, Summary(), forge_hosts=settings.forge_hosts)
    gone: list[tuple[str, int]] = []
    members: dict[int, list[int]] = {}
    for resource in UPSERT_ORDER:
        records = []
        for (kind, ident), body in sorted(found.items()):
            if kind != resource:
                continue
            if not isinstance(body, dict):  # 404: deleted since; a later event says so too
                gone.append((kind, ident))
                continue
            try:
                if kind == "packages":
                    body, _ = package_from_api(body, links)
                elif kind == "grids":
                    body, members[ident] = grid_from_api(body, links)
            except RecordError as error:
                raise SyncError(f"{kind} {ident}: {error}") from None
            records.append(body)
        await loader.add(resource, records)  # type: ignore[arg-type]
        await loader.flush(resource)  # type: ignore[arg-type]
    memberships = [{"grid": g, "package": p} for g, ids in members.items() for p in ids]
    await loader.add("memberships", memberships)
    summary = await loader.finish()
    if summary.refused:
        problems = "; ".join(f"{p.kind} {p.label}: {p.reason}" for p in summary.refused)
        raise SyncError(f"refused, nothing of this page applied: {problems}")
    await _drop_other_members(session, members)
    gone += [k for k, e in latest.items() if e.get("kind") == "deleted"]
    await _delete(session, gone, settings)
    counts = {
        "upserted": sum(c.created + c.updated for c in summary.counts.values()),
        "deleted": len(gone),
    }
    return counts


async def _drop_other_members(session: AsyncSession, members: Mapping[int, Sequence[int]]) -> None:
    """A grid's packages are what the source lists now: the others leave it."""
    table = cast(Table, GridPackage.__table__)
    for grid_id, package_ids in members.items():
        rows = await session.execute(
            delete(table)
            .where(table.c.grid_id == grid_id, table.c.package_id.not_in(package_ids))
            .returning(table.c.package_id)
        )
        removed = [row[0] for row in rows]
        if removed:
            feed.note(
                session,
                [feed.Event("updated", "grids", grid_id, ("packages",))]
                + [feed.Event("updated", "packages", p, ("grids",)) for p in removed],
            )


async def _delete(
    session: AsyncSession, gone: Sequence[tuple[str, int]], settings: Settings
) -> None:
    """Through the services' deletes: grids, then packages, then categories."""
    for resource in reversed(UPSERT_ORDER):
        for kind, ident in sorted(set(gone)):
            if kind != resource:
                continue
            if kind == "grids" and (grid := await session.get(Grid, ident)) is not None:
                await GridService(session).delete(grid)
            elif kind == "packages" and (package := await session.get(Package, ident)) is not None:
                await PackageService(session, forge_hosts=settings.forge_hosts).delete(package)
            elif kind == "categories" and (category := await session.get(Category, ident)):
                await CategoryService(session).delete(category)
