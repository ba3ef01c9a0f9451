"""Is a package still maintained? One status, and the reasons for it, from facts we fetch.

Statuses, first match wins (docs/compatibility.md states the rules for users):
1. `deprecated`: PyPI marks the project `deprecated` or `quarantined` (PEP 792), or the
   directory has a `date_deprecated` or a replacement (`deprecated_by`). Quarantine
   counts here because PyPI then offers no file to install: nothing says "do not use"
   more strongly, and the six statuses have no other place for it.
2. `archived`: the repository is archived on its forge, or PyPI marks the project
   `archived`.
3. `unknown`: neither a commit date nor a release date is known.
4. `active`: the newest of the last commit and the last release is less than
   `active_months` whole calendar months old;
5. `stale`: less than `stale_months` old;
6. `inactive`: older.
`reasons` lists every finding against the package in that order (deprecation, archival,
age), so a deprecated package that has not moved in years says both; it is empty exactly
when the status is `active`.

For queries, the status splits in two: standing() (deprecated, archived), which only a
write changes and can be stored, and activity(), which time changes and is a range of the
stored last activity with bounds from activity_cutoff() (see the end of this module).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from app.insights.score import add_months, whole_months_between

Status = Literal["active", "stale", "inactive", "archived", "deprecated", "unknown"]
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
Standing = Literal["deprecated", "archived"]
Activity = Literal["active", "stale", "inactive", "unknown"]
# PEP 792's markers. PyPI serves them in its Simple API only (docs/compatibility.md).
PypiStatus = Literal["active", "archived", "deprecated", "quarantined"]
PYPI_STATUSES: Final[frozenset[str]] = frozenset(
    {"active", "archived", "deprecated", "quarantined"}
)

# repo_host kinds (app.normalize.KNOWN_HOSTS) as people name the forges.
FORGE_NAMES: Final[dict[str, str]] = {
    "github": "GitHub",
    "gitlab": "GitLab",
    "bitbucket": "Bitbucket",
    "forgejo": "Forgejo",
}
# A PEP 792 reason is free text from the index; a reason sentence stays short.
REASON_TEXT_MAX = 200


@dataclass(frozen=True, slots=True)
class MaintenanceThresholds:
    """Ages, in whole calendar months since the newest commit or release, below which a
    package is `active` and `stale` (the MAINTENANCE_*_MONTHS settings)."""

    active_months: int = 12
    stale_months: int = 24

    def __post_init__(self) -> None:
        if not 0 < self.active_months <= self.stale_months:
            raise ValueError(
                "maintenance thresholds need 0 < active_months <= stale_months, got "
                f"{self.active_months} and {self.stale_months}"
            )


@dataclass(frozen=True, slots=True)
class Maintenance:
    """The `maintenance` object of the package resource, keys in their served order."""

    status: Status
    reasons: tuple[str, ...]
    last_commit: dt.datetime | None
    last_release: dt.datetime | None
    commits_last_year: int | None  # None: the weekly counts were never fetched
    # Not served: the next instant at which time alone changes this answer (None: never),
    # which is how long the read cache may keep it (app.insights.context.Insight.horizon).
    changes_at: dt.datetime | None = None


def maintenance(
    *,
    last_commit: dt.datetime | None,
    last_release: dt.datetime | None,
    commits_over_52: Sequence[int],
    repo_archived_at: dt.datetime | None,
    forge: str,
    pypi_status: str | None,
    date_deprecated: dt.datetime | None,
    deprecated_by: str | None,
    now: dt.datetime,
    thresholds: MaintenanceThresholds = MaintenanceThresholds(),
    pypi_status_reason: str | None = None,
) -> Maintenance:
    """The status and its reasons. `forge` is the package's repo_host ("github", ...);
    `pypi_status` the PEP 792 marker PyPI serves (None or an unknown value: not known);
    `deprecated_by` the replacement's title or slug. Datetimes must be timezone-aware."""
    last_commit, last_release = _utc(last_commit), _utc(last_release)
    repo_archived_at, date_deprecated = _utc(repo_archived_at), _utc(date_deprecated)
    now = _required_utc(now)
    marker = pypi_status if pypi_status in PYPI_STATUSES else None
    why_pypi = _pypi_reason(pypi_status_reason)
    replacement = " ".join((deprecated_by or "").split())  # one line, whatever the title holds

    reasons: list[str] = []
    if marker == "quarantined":
        reasons.append(f"quarantined on PyPI, which offers no file to install{why_pypi}")
    if marker == "deprecated":
        reasons.append(f"marked deprecated on PyPI{why_pypi}")
    if date_deprecated is not None:
        reasons.append(f"marked deprecated in this directory on {_day(date_deprecated)}")
    if replacement:
        reasons.append(f"replaced by {replacement}")
    if repo_archived_at is not None:
        where = FORGE_NAMES.get(forge, forge or "its forge")
        reasons.append(f"repository archived on {where} on {_day(repo_archived_at)}")
    if marker == "archived":
        reasons.append(f"marked archived on PyPI{why_pypi}")

    recency = activity(last_activity(last_commit, last_release), now, thresholds)
    if recency == "unknown":
        reasons.append("no commit or release date known yet")
    elif recency != "active":
        if last_commit is not None:
            reasons.append(f"no commit since {_month(last_commit)}")
        if last_release is not None:
            reasons.append(f"no release since {_month(last_release)}")

    held = standing(
        pypi_status=pypi_status,
        date_deprecated=date_deprecated,
        replaced=bool(replacement),
        repo_archived_at=repo_archived_at,
    )
    return Maintenance(
        status=held or recency,
        reasons=tuple(reasons),
        last_commit=last_commit,
        last_release=last_release,
        commits_last_year=sum(commits_over_52) if commits_over_52 else None,
        changes_at=None
        if held
        else activity_changes_at(last_activity(last_commit, last_release), now, thresholds),
    )


# --- the parts a query needs: `?status=` is a range of an index, never a stale column ---
#
# `deprecated` and `archived` change only when the refresher or an editor writes, so they
# can be stored (standing). active/stale/inactive change with time alone: they are ranges
# of the stored last_activity, with bounds from activity_cutoff() at query time.


def standing(
    *,
    pypi_status: str | None,
    date_deprecated: dt.datetime | None,
    replaced: bool,
    repo_archived_at: dt.datetime | None,
) -> Standing | None:
    """`deprecated` or `archived` when the facts say so (precedence as in the module's
    docstring), else None: the status is then the activity's."""
    if pypi_status in {"deprecated", "quarantined"} or date_deprecated is not None or replaced:
        return "deprecated"
    if pypi_status == "archived" or repo_archived_at is not None:
        return "archived"
    return None


def last_activity(
    last_commit: dt.datetime | None, last_release: dt.datetime | None
) -> dt.datetime | None:
    """The newer of the two dates, which the activity statuses are measured from."""
    dates = [_required_utc(d) for d in (last_commit, last_release) if d is not None]
    return max(dates) if dates else None


def activity(
    last_active: dt.datetime | None, now: dt.datetime, thresholds: MaintenanceThresholds
) -> Activity:
    """active, stale or inactive by whole calendar months since `last_active`; unknown
    without it."""
    if last_active is None:
        return "unknown"
    months = whole_months_between(_required_utc(last_active), _required_utc(now))
    if months < thresholds.active_months:
        return "active"
    return "stale" if months < thresholds.stale_months else "inactive"


def activity_changes_at(
    last: dt.datetime | None, now: dt.datetime, thresholds: MaintenanceThresholds
) -> dt.datetime | None:
    """The next instant after `now` at which activity() of `last` answers otherwise: when
    `last` is active_months, then stale_months, whole months old (None: never again)."""
    if last is None:
        return None
    for months in (thresholds.active_months, thresholds.stale_months):
        moment = add_months(last, months)
        if moment > now:
            return moment
    return None


def activity_cutoff(now: dt.datetime, months: int) -> dt.datetime:
    """The earliest moment less than `months` whole calendar months before `now`: for every
    d, `whole_months_between(d, now) < months` exactly when `d >= activity_cutoff(now,
    months)`. So `?status=active` is `last_activity >= activity_cutoff(now, active_months)`.

    Month ends make the boundary irregular (on 31 March, 30 and 31 January are both one
    whole month back), so it is found by bisection over microseconds on the very rule
    the status uses; the age only grows as d moves back, so the search is exact."""
    if months < 1:
        raise ValueError("months must be at least 1")
    now = _required_utc(now)
    step = dt.timedelta(microseconds=1)
    late = now  # whole_months_between(now, now) == 0 < months
    early = now - dt.timedelta(days=31 * (months + 1))  # at least `months` months back
    # Invariant: early is too old, late is recent enough.
    while late - early > step:
        middle = early + (late - early) // 2
        if whole_months_between(middle, now) < months:
            late = middle
        else:
            early = middle
    return late


def _pypi_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        return ""
    if len(text) > REASON_TEXT_MAX:
        text = text[: REASON_TEXT_MAX - 1].rstrip() + "…"
    return f": {text}"


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else _required_utc(moment)


def _required_utc(moment: dt.datetime) -> dt.datetime:
    # As app.db.UTCDateTime: a naive datetime is ambiguous, so it is a caller's bug.
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    return moment.astimezone(dt.UTC)


# Formatted by hand: strftime("%Y") does not pad years before 1000 on every platform.
def _month(moment: dt.datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _day(moment: dt.datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
