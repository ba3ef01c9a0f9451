"""The one place change events are written: a session hook, plus `note()` for Core writes.

The hook (`RecordingSession`, the sessions of app.db.create_sessionmaker: API requests,
the importer, the refresher, the demo) looks at every flush: packages, grids and categories
that are new, deleted, or have a column whose value really changed (SQLAlchemy's attribute
history compares old and new, so writing an equal value is no change), and grid
memberships, which change the grid's `packages` and the package's `grids`. Writers that
bypass the ORM with Core UPDATEs (the refresher's figures, the importer's batches) call
`note()` with what they changed. Events wait in the session until its commit and are
written in the same transaction, merged per resource (created then updated is one
`created`; created then deleted is nothing).

`seq` is gapless and in commit order: just before the commit, PostgreSQL takes a
transaction-level advisory lock (held until the commit ends) and assigns max(seq) + 1 on;
a later writer waits for the lock, then sees the earlier commit. SQLite's writers are
serialized already (BEGIN IMMEDIATE, app.db.begin_writing). The lock is taken at commit
time, after the transaction's own row locks, so it is held for one INSERT and cannot
deadlock with them. Events older than CHANGES_RETENTION_DAYS are pruned by the writer
whose events cross a hundredth seq (never the newest, so max(seq) survives).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import Table, delete, event, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from app.columns import utcnow
from app.models import Category, Change, Grid, GridPackage, Package

ChangeKind = Literal["created", "updated", "deleted"]
Resource = Literal["packages", "grids", "categories"]

RESOURCES: dict[type[Any], Resource] = {
    Package: "packages",
    Grid: "grids",
    Category: "categories",
}
# Columns a reader does not see as the resource's own figures: timestamps that move with
# every write, and the refresher's bookkeeping (a refresh that found the same figures
# changes only these, and is no event).
INTERNAL_COLUMNS = frozenset(
    {
        "created",
        "modified",
        "last_fetched",
        "refresh_error",
        "refresh_error_at",
        "refresh_failures",
        "refresh_etags",
        "refresh_pypi_etag",
        "refresh_retry_at",
        "refresh_attempted_at",
        "refresh_claimed_by",
        "refresh_claimed_until",
    }
)
# Columns served under another name (their hyperlinks).
SERVED_NAMES = {"category_id": "category", "deprecated_by_id": "deprecated_by"}
DEFAULT_RETENTION_DAYS = 30
# Session.info keys: the events waiting for the commit, and the retention in days (set by
# the sessionmaker from CHANGES_RETENTION_DAYS).
PENDING = "packages_api.changes"
RETENTION = "packages_api.changes_retention_days"
# Pruning runs when a commit's events cross a multiple of this seq: one statement per
# hundred events rather than one per write (a write's events cost three statements).
PRUNE_EVERY = 100
# pg_advisory_xact_lock key of the change feed ("changes" in ASCII).
CHANGES_LOCK = 0x6368616E676573

_changes = cast(Table, Change.__table__)


@dataclass(frozen=True)
class Event:
    kind: ChangeKind
    resource: Resource
    id: int
    fields: tuple[str, ...]


def served_fields(columns: Iterable[str]) -> tuple[str, ...]:
    """Column names as the resource serves them, less the internal ones, sorted."""
    return tuple(
        sorted({SERVED_NAMES.get(name, name) for name in columns if name not in INTERNAL_COLUMNS})
    )


def _merge(pending: dict[tuple[str, int], Event], new: Event) -> None:
    key = (new.resource, new.id)
    old = pending.get(key)
    if old is None:
        pending[key] = new
    elif old.kind == "created" and new.kind == "deleted":
        del pending[key]  # never seen by anyone: nothing happened
    elif old.kind == "deleted":
        if new.kind == "created":  # an id used again: it is a new version of the resource
            pending[key] = Event("updated", new.resource, new.id, new.fields)
    elif new.kind == "deleted":
        pending[key] = new
    else:  # created or updated, then updated: the fields of both
        fields = tuple(sorted(set(old.fields) | set(new.fields)))
        pending[key] = Event(old.kind, old.resource, old.id, fields)


def note(session: Session | AsyncSession, events: Iterable[Event]) -> None:
    """Record `events` for the session's commit: for writes the hook cannot see (Core
    INSERTs and UPDATEs). Only what really changed: an event without fields is dropped
    unless it is a creation or a deletion."""
    pending: dict[tuple[str, int], Event] = session.info.setdefault(PENDING, {})
    for item in events:
        if item.kind == "updated" and not item.fields:
            continue
        _merge(pending, item)


def updated(resource: Resource, resource_id: int, columns: Iterable[str]) -> Event:
    return Event("updated", resource, resource_id, served_fields(columns))


def created(resource: Resource, resource_id: int, columns: Iterable[str]) -> Event:
    return Event("created", resource, resource_id, served_fields(columns))


def _column_keys(instance: Any) -> list[str]:
    return [attr.key for attr in inspect(instance).mapper.column_attrs]


def _changed_columns(instance: Any) -> list[str]:
    state = inspect(instance)
    return [
        attr.key
        for attr in state.mapper.column_attrs
        if state.attrs[attr.key].history.has_changes()
    ]


def _membership_events(membership: GridPackage) -> list[Event]:
    return [
        Event("updated", "grids", membership.grid_id, ("packages",)),
        Event("updated", "packages", membership.package_id, ("grids",)),
    ]


class RecordingSession(Session):
    """The Session of app.db.create_sessionmaker: its flushes and commits record changes."""


@event.listens_for(RecordingSession, "before_flush")
def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    """Deletions the database cascades (memberships of a deleted package or grid) are gone
    by after_flush: read what they join now."""
    events: list[Event] = []
    packages = [obj.id for obj in session.deleted if isinstance(obj, Package)]
    grids = [obj.id for obj in session.deleted if isinstance(obj, Grid)]
    if packages:
        rows = session.execute(
            select(GridPackage.grid_id).where(GridPackage.package_id.in_(packages)).distinct()
        )
        events += [Event("updated", "grids", grid_id, ("packages",)) for (grid_id,) in rows]
    if grids:
        rows = session.execute(
            select(GridPackage.package_id).where(GridPackage.grid_id.in_(grids)).distinct()
        )
        events += [Event("updated", "packages", package_id, ("grids",)) for (package_id,) in rows]
    # Held back until after_flush, so they merge after the deletions themselves.
    session.info.setdefault(PENDING + ".cascade", []).extend(events)


@event.listens_for(RecordingSession, "after_flush")
def _after_flush(session: Session, _context: UOWTransaction) -> None:
    events: list[Event] = []
    for obj in session.new:
        resource = RESOURCES.get(type(obj))
        if resource is not None:
            events.append(created(resource, obj.id, _column_keys(obj)))
        elif isinstance(obj, GridPackage):
            events += _membership_events(obj)
    for obj in session.dirty:
        resource = RESOURCES.get(type(obj))
        if resource is not None:
            events.append(updated(resource, obj.id, _changed_columns(obj)))
    for obj in session.deleted:
        resource = RESOURCES.get(type(obj))
        if resource is not None:
            events.append(Event("deleted", resource, obj.id, ()))
        elif isinstance(obj, GridPackage):
            events += _membership_events(obj)
    events += session.info.pop(PENDING + ".cascade", [])
    note(session, events)


@event.listens_for(RecordingSession, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: its events too
    pending: dict[tuple[str, int], Event] = session.info.pop(PENDING, {})
    if pending:
        write(session, list(pending.values()), session.info.get(RETENTION))


@event.listens_for(RecordingSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(PENDING + ".cascade", None)


def write(session: Session, events: Sequence[Event], retention_days: int | None) -> None:
    """Assign the next seqs to `events` and insert them; prune what is past retention."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(CHANGES_LOCK)))
    last = connection.execute(select(func.max(_changes.c.seq))).scalar() or 0
    now = utcnow()
    connection.execute(
        insert(_changes),
        [
            {
                "seq": last + number,
                "at": now,
                "kind": item.kind,
                "resource": item.resource,
                "resource_id": item.id,
                "fields": list(item.fields),
            }
            for number, item in enumerate(events, start=1)
        ],
    )
    newest = last + len(events)
    if newest // PRUNE_EVERY == last // PRUNE_EVERY:
        return
    days = DEFAULT_RETENTION_DAYS if retention_days is None else retention_days
    # The newest event always stays: it is what the next seq counts from.
    connection.execute(
        delete(_changes).where(
            _changes.c.at < now - dt.timedelta(days=days),
            _changes.c.seq < newest,
        )
    )
