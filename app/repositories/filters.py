"""`?django=`, `?python=` and `?status=` (issue 18): read once, then written as SQL for the
package list (SQLAlchemy conditions) and for search (fragments of its SQL text).

Each is a range of an index over stored facts (app.insights.stored): a version is a
lookup of package_versions' (kind, version, package_id); a status is `standing` or, for
the statuses time changes, a range of `last_activity` whose bounds are computed now,
by the rule the served status uses (app.insights.maintenance.activity_cutoff).
"""

# search's SQL fragments are built from this module's constants; every value a client sends
# is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select

from app.errors import InvalidQuery
from app.insights.context import Insight
from app.insights.maintenance import STATUSES, activity_cutoff
from app.insights.stored import python_kind
from app.insights.versions import minor_version
from app.models import Package, PackageVersion

# What the OpenAPI document states (app.routers.package_filters): spaces around allowed.
VERSION_DIGITS = r"[0-9]{1,4}\.[0-9]{1,4}"
_VERSION = re.compile(VERSION_DIGITS)
# [low, high) of last_activity; None: unbounded.
Range = tuple[dt.datetime | None, dt.datetime | None]


@dataclass(frozen=True, slots=True)
class VersionFilter:
    kind: str
    version: str


@dataclass(frozen=True, slots=True)
class StatusFilter:
    standings: tuple[str, ...]  # "deprecated", "archived"
    unknown: bool  # standing "" and no last_activity
    ranges: tuple[Range, ...]  # standing "" and last_activity in one of them


@dataclass(frozen=True, slots=True)
class FactFilters:
    django: VersionFilter | None = None
    python: VersionFilter | None = None
    status: StatusFilter | None = None

    def __bool__(self) -> bool:
        return any((self.django, self.python, self.status))

    @property
    def change_with_time(self) -> bool:
        """Whether the packages kept change as time passes, not only on writes: an
        activity status (active, stale, inactive) is a range of dates that moves."""
        return self.status is not None and bool(self.status.ranges)

    def conditions(self, *, counting: bool = False) -> list[ColumnElement[bool]]:
        """WHERE conditions on packages; `counting`: in the shape a count reads best (a
        status set is then an OR of index ranges, which a page would have to sort)."""
        found: list[ColumnElement[bool]] = []
        for wanted in (self.django, self.python):
            if wanted is not None:
                supporting = select(PackageVersion.package_id).where(
                    PackageVersion.kind == wanted.kind, PackageVersion.version == wanted.version
                )
                found.append(Package.id.in_(supporting))
        if self.status is not None:
            found.append(_status_condition(self.status, counting=counting))
        return found

    def count_alone(self) -> Select[int] | None:
        """A count of the packages one version filter alone keeps, read from the version
        index only (every row names a package: ON DELETE CASCADE); None otherwise."""
        if self.status is not None or (self.django is None) == (self.python is None):
            return None
        wanted = self.django or self.python
        assert wanted is not None
        return select(func.count()).where(
            PackageVersion.kind == wanted.kind, PackageVersion.version == wanted.version
        )

    def sql(self, item_id: str) -> tuple[str, dict[str, Any]]:
        """The same conditions as ` AND ...` SQL on `item_id` (a package id), with their
        parameters (named `f_*`; datetimes to bind as UTCDateTime)."""
        parts: list[str] = []
        params: dict[str, Any] = {}
        for name, wanted in (("django", self.django), ("python", self.python)):
            if wanted is not None:
                parts.append(
                    f"{item_id} IN (SELECT v.package_id FROM package_versions v"
                    f" WHERE v.kind = '{wanted.kind}' AND v.version = :f_{name})"  # our constant
                )
                params[f"f_{name}"] = wanted.version
        if self.status is not None:
            branches = [f"p.standing = '{held}'" for held in self.status.standings]
            if self.status.unknown:
                branches.append("(p.standing = '' AND p.last_activity IS NULL)")
            for index, (low, high) in enumerate(self.status.ranges):
                bounds = ["p.standing = ''", "p.last_activity IS NOT NULL"]
                if low is not None:
                    bounds.append(f"p.last_activity >= :f_low{index}")
                    params[f"f_low{index}"] = low
                if high is not None:
                    bounds.append(f"p.last_activity < :f_high{index}")
                    params[f"f_high{index}"] = high
                branches.append(f"({' AND '.join(bounds)})")
            parts.append(
                f"{item_id} IN (SELECT p.id FROM packages p WHERE {' OR '.join(branches)})"
            )
        return "".join(f" AND {part}" for part in parts), params


def _status_condition(status: StatusFilter, *, counting: bool) -> ColumnElement[bool]:
    """A range of (standing, id) where it can be, so a page by id reads that index in
    order: the standings alone (several are an IN list), or `standing = ''` and the
    activity's ranges of last_activity."""
    held = Package.standing.in_(status.standings)
    activity: list[ColumnElement[bool]] = []
    if status.unknown:
        activity.append(Package.last_activity.is_(None))
    for low, high in status.ranges:
        bounds: list[ColumnElement[bool]] = [Package.last_activity.is_not(None)]
        if low is not None:
            bounds.append(Package.last_activity >= low)
        if high is not None:
            bounds.append(Package.last_activity < high)
        activity.append(and_(*bounds))
    if not activity:
        return held
    by_activity = and_(Package.standing == "", or_(*activity))
    if not status.standings:
        return by_activity
    if counting:  # disjoint: (standing, id) and (last_activity, standing, id) ranges
        return or_(held, by_activity)
    # Both kinds: an OR would make SQLite read two ranges of (standing, id) and sort all
    # their rows (every stale package, say). Tested row by row instead, the page walks the
    # ordering's own index as an unfiltered one does.
    return case((Package.standing == "", or_(*activity)), else_=held)


def parse_fact_filters(
    insight: Insight,
    *,
    django: str | None = None,
    python: str | None = None,
    status: str | None = None,
) -> FactFilters:
    """The filters as the client sent them (blank: no filter); 400 for a bad value."""
    django_version = _version(django, "django")
    python_version = _version(python, "python")
    return FactFilters(
        django=VersionFilter("django", django_version) if django_version else None,
        python=VersionFilter(python_kind(python_version, insight.python_versions), python_version)
        if python_version
        else None,
        status=_status(status, insight),
    )


def _version(raw: str | None, param: str) -> str | None:
    text = (raw or "").strip(" ")
    if not text:
        return None
    if not _VERSION.fullmatch(text):
        raise InvalidQuery(param, f"{text!r} is not a version like 5.2 (major.minor)")
    return minor_version(text)


def _status(raw: str | None, insight: Insight) -> StatusFilter | None:
    names = [part.strip(" ") for part in (raw or "").split(",") if part.strip(" ")]
    if not names:
        return None
    for name in names:
        if name not in STATUSES:
            choices = ", ".join(STATUSES)
            raise InvalidQuery("status", f"unknown status {name!r}; choose from {choices}")
    wanted = set(names)
    active = activity_cutoff(insight.now, insight.thresholds.active_months)
    stale = activity_cutoff(insight.now, insight.thresholds.stale_months)
    # Ascending, adjacent ones merged: `active,stale` is one range of the index.
    pieces: list[Range] = [
        piece
        for name, piece in (
            ("inactive", (None, stale)),
            ("stale", (stale, active)),
            ("active", (active, None)),
        )
        if name in wanted and (piece[0] is None or piece[1] is None or piece[0] < piece[1])
    ]
    ranges: list[Range] = []
    for low, high in pieces:
        if ranges and ranges[-1][1] == low:
            ranges[-1] = (ranges[-1][0], high)
        else:
            ranges.append((low, high))
    standings = tuple(held for held in ("deprecated", "archived") if held in wanted)
    return StatusFilter(standings, "unknown" in wanted, tuple(ranges))
