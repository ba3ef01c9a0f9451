"""Unit rules: djangopackages' score, and what one package's results change (no database)."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest

from app.forges.base import (
    Outcome,
    PypiFigures,
    PypiResult,
    RepoFigures,
    RepoKey,
    RepoResult,
)
from app.insights.score import _days_in_month, package_score, whole_months_between
from app.models import Package
from app.refresh.apply import BACKOFF_CAP, PackageOutcome, backoff, plan

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
KEY = RepoKey("github.com", "o/r")


def at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (at(2026, 1, 15), at(2026, 2, 15), 1),
        (at(2026, 1, 15), at(2026, 2, 14), 0),
        (at(2026, 1, 31), at(2026, 2, 28), 1),  # the 31st clamps to February's end
        (at(2026, 1, 31), at(2026, 2, 28, 11), 0),
        (at(2026, 1, 31), at(2026, 3, 31), 2),
        (at(2025, 11, 22), at(2026, 11, 22), 12),
        (at(2026, 11, 22, 13), at(2026, 11, 22, 12), 0),
    ],
)
def test_whole_months_are_counted_as_relativedelta_counts_them(
    start: dt.datetime, end: dt.datetime, months: int
) -> None:
    assert whole_months_between(start, end) == months


@pytest.mark.parametrize(
    ("stars", "last_commit", "python3", "score"),
    [
        (1000, NOW - dt.timedelta(days=10), True, 1000),  # fresh, Python 3: the stars
        (1000, at(2026, 5, 22), True, 800),  # 6 months: two quarters, a tenth each
        (1000, at(2026, 8, 23), True, 1000),  # not quite 3 months: no quarter yet
        (1000, None, True, 900),  # no date: a single tenth
        (1000, NOW, False, 700),  # no Python 3: 30% of the stars ...
        (10_000, NOW, None, 9000),  # ... at most 1000 (unknown counts as no)
        (1000, at(2016, 11, 22), True, -500),  # ten years: floored at -500
        (100, at(2016, 11, 22), True, -300),
        (0, None, False, 0),
    ],
)
def test_the_score_follows_djangopackages(
    stars: int, last_commit: dt.datetime | None, python3: bool | None, score: int
) -> None:
    assert package_score(stars, last_commit, python3, NOW) == score


def package(**values: object) -> Package:
    defaults: dict[str, object] = {
        "id": 1,
        "slug": "p",
        "repo_url": "https://github.com/o/r",
        "repo_host": "github",
        "repo_description": "old",
        "repo_watchers": 5,
        "repo_forks": 1,
        "participants": ["x"],
        "commits_over_52": [0] * 52,
        "last_updated": None,
        "date_repo_archived": None,
        "pypi_version": None,
        "pypi_license": None,
        "pypi_requires_python": None,
        "pypi_classifiers": [],
        "supports_python3": None,
        "documentation_url": "",
        "score": 0,
        "refresh_failures": 0,
    }
    return Package(**{**defaults, **values})


def test_fields_an_upstream_left_out_keep_their_values() -> None:
    result = RepoResult(KEY, Outcome.OK, RepoFigures(stars=9))
    values = plan(package(), forge="github", repo=result, pypi=None, now=NOW).values
    assert values["repo_watchers"] == 9
    for column in ("repo_forks", "repo_description", "participants", "commits_over_52"):
        assert column not in values


def test_a_series_that_is_not_52_weeks_is_not_taken() -> None:
    result = RepoResult(KEY, Outcome.OK, RepoFigures(commits_over_52=[1] * 51))
    assert (
        "commits_over_52"
        not in plan(package(), forge="github", repo=result, pypi=None, now=NOW).values
    )


def test_unchanged_figures_are_an_unchanged_success_that_keeps_modified() -> None:
    result = RepoResult(KEY, Outcome.OK, RepoFigures(stars=5, forks=1))
    outcome = plan(package(score=3), forge="github", repo=result, pypi=None, now=NOW)
    assert outcome.outcome is PackageOutcome.UNCHANGED
    assert "modified" not in outcome.values and outcome.values["last_fetched"] == NOW


def test_pypi_fills_an_empty_documentation_url_only() -> None:
    figures = PypiFigures(documentation_url="https://docs.example.org/")
    result = PypiResult("p", Outcome.OK, figures)
    assert (
        plan(package(), forge=None, repo=None, pypi=result, now=NOW).values["documentation_url"]
        == "https://docs.example.org/"
    )
    mine = package(documentation_url="https://mine.example.org/")
    assert "documentation_url" not in plan(mine, forge=None, repo=None, pypi=result, now=NOW).values


def test_backoff_doubles_from_an_hour_to_a_week_at_most() -> None:
    assert dt.timedelta(hours=1) <= backoff(1) <= dt.timedelta(hours=1.1)
    assert dt.timedelta(hours=8) <= backoff(4) <= dt.timedelta(hours=8.8)
    assert backoff(40) <= BACKOFF_CAP * 1.1
    assert backoff(1, retry_after=3 * 3600) >= dt.timedelta(hours=3)


def test_a_pypi_status_is_stored_when_known_and_kept_when_not() -> None:
    archived = PypiResult("p", Outcome.OK, PypiFigures(status="archived", status_reason=""))
    unknown = PypiResult("p", Outcome.OK, PypiFigures(version="2.0"))  # the Simple API failed
    quarantined = PypiResult(
        "p", Outcome.NOT_FOUND, PypiFigures(status="quarantined", status_reason="Malware.")
    )
    stored = package(pypi_status="deprecated", pypi_status_reason="Old.")

    first = plan(stored, forge=None, repo=None, pypi=archived, now=NOW)
    kept = plan(stored, forge=None, repo=None, pypi=unknown, now=NOW)
    hidden = plan(stored, forge=None, repo=None, pypi=quarantined, now=NOW)

    assert (first.values["pypi_status"], first.values["pypi_status_reason"]) == ("archived", "")
    assert first.values["modified"] == NOW  # a reader sees it (maintenance)
    assert "pypi_status" not in kept.values and "pypi_status_reason" not in kept.values
    assert hidden.outcome is PackageOutcome.FAILED  # not found on PyPI's JSON API...
    assert hidden.values["pypi_status"] == "quarantined"  # ...and why
    assert hidden.values["pypi_status_reason"] == "Malware."


def test_month_lengths_are_the_calendars() -> None:
    for year in (*range(1, 2500), 9999):
        for month in range(1, 13):
            assert _days_in_month(year, month) == calendar.monthrange(year, month)[1]
