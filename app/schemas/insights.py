"""The package resource's answers (issue 18), rendered from its row: django_versions,
python_versions, maintenance and score_breakdown. Rules in app/insights/ and
docs/compatibility.md; this module only feeds them the stored columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import fields
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.insights.context import Insight as Insight
from app.insights.maintenance import Maintenance, maintenance
from app.insights.score_breakdown import ScoreBreakdown, next_quarter, score_breakdown
from app.insights.versions import django_versions, python_versions

Status = Literal["active", "stale", "inactive", "archived", "deprecated", "unknown"]


class MaintenanceOut(BaseModel):
    status: Status
    reasons: list[str] = Field(description="Short sentences: everything found against it.")
    last_commit: dt.datetime | None
    last_release: dt.datetime | None = Field(
        description="Upload of the newest PyPI file that is not yanked."
    )
    commits_last_year: int | None = Field(description="null until the weekly counts are fetched.")


class ScoreBreakdownOut(BaseModel):
    score: int
    stars: int
    quarters_since_last_commit: int | None
    age_penalty: float
    supports_python3: bool | None
    python2_penalty: float
    before_floor: int
    floor: int
    floor_applied: bool


def package_maintenance(
    field: Callable[[str], Any], insight: Insight, replacement: str | None
) -> Maintenance:
    """The package's maintenance from its stored columns: what the resource's
    `maintenance`, the grid table's `status` and the status badge all show."""
    health = maintenance(
        last_commit=field("last_updated"),
        last_release=field("pypi_last_release"),
        commits_over_52=field("commits_over_52") or [],
        repo_archived_at=field("date_repo_archived"),
        forge=field("repo_host"),
        # PEP 792's marker, from PyPI's Simple API (the refresher's PyPI step).
        pypi_status=field("pypi_status"),
        pypi_status_reason=field("pypi_status_reason"),
        date_deprecated=field("date_deprecated"),
        deprecated_by=replacement,
        now=insight.now,
        thresholds=insight.thresholds,
    )
    insight.valid_until(health.changes_at)  # time alone changes it then (the read cache)
    return health


def insight_fields(
    field: Callable[[str], Any], insight: Insight, replacement: str | None
) -> dict[str, Any]:
    """The four keys, in their served order. `field` reads a column of the package;
    `replacement` names the package that replaces it (its hyperlink), if any."""
    classifiers: list[str] = field("pypi_classifiers") or []
    last_commit = field("last_updated")
    health = package_maintenance(field, insight, replacement)
    # The score is computed when the package is refreshed: its terms as of then.
    scored_at = field("last_fetched") or insight.now
    breakdown = score_breakdown(
        field("repo_watchers"), last_commit, field("supports_python3"), scored_at
    )
    if scored_at is insight.now:  # never fetched: its quarters count on with time
        insight.valid_until(next_quarter(last_commit, breakdown.quarters_since_last_commit))
    django, python = _versions(
        tuple(classifiers), field("pypi_requires_python"), insight.python_versions
    )
    # Built by hand: dataclasses.asdict deep-copies every value, half of this function's
    # CPU on a list page.
    return {
        "django_versions": list(django),
        "python_versions": list(python),
        "maintenance": {
            "status": health.status,
            "reasons": list(health.reasons),
            "last_commit": health.last_commit,
            "last_release": health.last_release,
            "commits_last_year": health.commits_last_year,
        },
        "score_breakdown": {name: getattr(breakdown, name) for name in _BREAKDOWN_KEYS},
    }


_BREAKDOWN_KEYS = tuple(f.name for f in fields(ScoreBreakdown))


# Many packages share their classifiers and Requires-Python (and every request the
# candidates): the parsing is done once per distinct set.
@lru_cache(maxsize=4096)
def _versions(
    classifiers: tuple[str, ...], requires_python: str | None, candidates: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (
        tuple(django_versions(classifiers)),
        tuple(python_versions(classifiers, requires_python, candidates)),
    )
