"""The maintenance status: which one, in which order, and the sentences that explain it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.insights.maintenance import (
    STATUSES,
    Maintenance,
    MaintenanceThresholds,
    activity,
    activity_changes_at,
    activity_cutoff,
    last_activity,
    maintenance,
    standing,
)
from app.insights.score import whole_months_between
from tests.insights.strategies import PROPERTY, aware_datetimes, optional_datetimes

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
# How far down the activity ladder each status is, for the monotonicity property.
LADDER = {"active": 0, "stale": 1, "inactive": 2, "unknown": 3}


def facts(**overrides: Any) -> dict[str, Any]:
    """A maintained package's facts; each test changes what it is about."""
    base: dict[str, Any] = {
        "last_commit": dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
        "last_release": dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        "commits_over_52": [1] * 52,
        "repo_archived_at": None,
        "forge": "github",
        "pypi_status": None,
        "date_deprecated": None,
        "deprecated_by": None,
        "now": NOW,
    }
    return base | overrides


def test_a_package_with_a_recent_commit_is_active_without_reasons() -> None:
    found = maintenance(**facts())

    assert found == Maintenance(
        status="active",
        reasons=(),
        last_commit=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
        last_release=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        commits_last_year=52,
        # Twelve whole months after the newest activity it turns stale: the read cache keeps
        # the answer until then.
        changes_at=dt.datetime(2027, 11, 20, tzinfo=dt.UTC),
    )


@pytest.mark.parametrize(
    ("last", "status"),
    [
        (dt.datetime(2025, 12, 3, 12, 0, 1, tzinfo=dt.UTC), "active"),  # 11 months, 30 days
        (dt.datetime(2025, 12, 3, 12, 0, tzinfo=dt.UTC), "stale"),  # 12 whole months
        (dt.datetime(2024, 12, 3, 12, 0, 1, tzinfo=dt.UTC), "stale"),
        (dt.datetime(2024, 12, 3, 12, 0, tzinfo=dt.UTC), "inactive"),  # 24 whole months
    ],
)
def test_the_thresholds_are_whole_calendar_months_since_the_newest_date(
    last: dt.datetime, status: str
) -> None:
    found = maintenance(**facts(last_commit=last, last_release=None))

    assert found.status == status


def test_a_stale_package_says_since_when_nothing_happened() -> None:
    found = maintenance(
        **facts(
            last_commit=dt.datetime(2023, 4, 17, tzinfo=dt.UTC),
            last_release=dt.datetime(2025, 2, 1, tzinfo=dt.UTC),
        )
    )

    assert found.status == "stale"  # the release is 22 months old
    assert found.reasons == ("no commit since 2023-04", "no release since 2025-02")


def test_a_recent_release_keeps_a_package_without_commits_active() -> None:
    found = maintenance(**facts(last_commit=None, last_release=NOW - dt.timedelta(days=30)))

    assert (found.status, found.reasons) == ("active", ())


def test_custom_thresholds_move_the_lines() -> None:
    thresholds = MaintenanceThresholds(active_months=6, stale_months=9)
    last = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)  # 8 months

    assert maintenance(**facts(last_commit=last, last_release=None)).status == "active"
    found = maintenance(**facts(last_commit=last, last_release=None), thresholds=thresholds)
    assert found.status == "stale"


@pytest.mark.parametrize(("active", "stale"), [(0, 12), (13, 12), (-1, 5)])
def test_thresholds_must_be_positive_and_ordered(active: int, stale: int) -> None:
    with pytest.raises(ValueError, match="active_months <= stale_months"):
        MaintenanceThresholds(active_months=active, stale_months=stale)


def test_without_any_date_the_status_is_unknown() -> None:
    found = maintenance(**facts(last_commit=None, last_release=None, commits_over_52=[]))

    assert found.status == "unknown"
    assert found.reasons == ("no commit or release date known yet",)
    assert found.commits_last_year is None  # never fetched, not zero


def test_an_archived_repository_is_archived_and_names_its_forge() -> None:
    found = maintenance(
        **facts(repo_archived_at=dt.datetime(2024, 5, 2, 8, tzinfo=dt.UTC), forge="gitlab")
    )

    assert found.status == "archived"
    assert found.reasons == ("repository archived on GitLab on 2024-05-02",)


@pytest.mark.parametrize(
    ("forge", "named"),
    [("github", "GitHub"), ("forgejo", "Forgejo"), ("bitbucket", "Bitbucket"), ("", "its forge")],
)
def test_each_forge_is_named_as_people_name_it(forge: str, named: str) -> None:
    found = maintenance(**facts(repo_archived_at=NOW, forge=forge))

    assert found.reasons == (f"repository archived on {named} on 2026-12-03",)


def test_pypi_markers_count_as_pypi_serves_them() -> None:
    archived = maintenance(**facts(pypi_status="archived"))
    deprecated = maintenance(**facts(pypi_status="deprecated"))
    quarantined = maintenance(**facts(pypi_status="quarantined"))
    active = maintenance(**facts(pypi_status="active"))

    assert (archived.status, archived.reasons) == ("archived", ("marked archived on PyPI",))
    assert (deprecated.status, deprecated.reasons) == (
        "deprecated",
        ("marked deprecated on PyPI",),
    )
    assert quarantined.status == "deprecated"
    assert quarantined.reasons == ("quarantined on PyPI, which offers no file to install",)
    assert (active.status, active.reasons) == ("active", ())


@pytest.mark.parametrize("marker", ["Archived", "", "yanked", "archived ", "active"])
def test_a_marker_other_than_the_three_changes_nothing(marker: str) -> None:
    assert maintenance(**facts(pypi_status=marker)).status == "active"


def test_a_pypi_status_reason_is_kept_short_and_on_one_line() -> None:
    found = maintenance(**facts(pypi_status="archived"), pypi_status_reason="moved\n to  x " * 40)

    (reason,) = found.reasons
    assert reason.startswith("marked archived on PyPI: moved to x moved")
    assert "\n" not in reason and len(reason) <= len("marked archived on PyPI: ") + 200


def test_a_deprecated_package_says_what_replaces_it_and_everything_else_against_it() -> None:
    found = maintenance(
        **facts(
            last_commit=dt.datetime(2019, 2, 3, tzinfo=dt.UTC),
            last_release=None,
            repo_archived_at=dt.datetime(2021, 6, 30, 23, 59, tzinfo=dt.UTC),
            date_deprecated=dt.datetime(2022, 1, 10, tzinfo=dt.UTC),
            deprecated_by="django-foo",
            pypi_status="archived",
        )
    )

    assert found.status == "deprecated"
    assert found.reasons == (
        "marked deprecated in this directory on 2022-01-10",
        "replaced by django-foo",
        "repository archived on GitHub on 2021-06-30",
        "marked archived on PyPI",
        "no commit since 2019-02",
    )


def test_dates_are_told_in_utc() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    found = maintenance(
        **facts(
            last_commit=dt.datetime(2023, 5, 1, 3, tzinfo=tokyo),  # 2023-04-30 18:00 UTC
            last_release=None,
            repo_archived_at=dt.datetime(2023, 5, 1, 3, tzinfo=tokyo),
        )
    )

    assert found.reasons == (
        "repository archived on GitHub on 2023-04-30",
        "no commit since 2023-04",
    )


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        maintenance(**facts(last_commit=dt.datetime(2026, 1, 1)))


# --- properties over every combination of facts ----------------------------------------


@dataclass(frozen=True)
class Facts:
    last_commit: dt.datetime | None
    last_release: dt.datetime | None
    commits_over_52: list[int]
    repo_archived_at: dt.datetime | None
    pypi_status: str | None
    date_deprecated: dt.datetime | None
    deprecated_by: str | None
    now: dt.datetime


all_facts = st.builds(
    Facts,
    last_commit=optional_datetimes,
    last_release=optional_datetimes,
    # [] until first fetched, then 52 weekly counts.
    commits_over_52=st.one_of(
        st.just([]), st.lists(st.integers(0, 10_000), min_size=52, max_size=52)
    ),
    repo_archived_at=optional_datetimes,
    pypi_status=st.one_of(
        st.none(), st.sampled_from(["active", "archived", "deprecated", "quarantined"]), st.text()
    ),
    date_deprecated=optional_datetimes,
    deprecated_by=st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=100)),
    now=aware_datetimes,
)
thresholds = st.builds(
    lambda active, extra: MaintenanceThresholds(active, active + extra),
    st.integers(1, 60),
    st.integers(0, 60),
)


def status_of(f: Facts, limits: MaintenanceThresholds) -> Maintenance:
    return maintenance(
        last_commit=f.last_commit,
        last_release=f.last_release,
        commits_over_52=f.commits_over_52,
        repo_archived_at=f.repo_archived_at,
        forge="github",
        pypi_status=f.pypi_status,
        date_deprecated=f.date_deprecated,
        deprecated_by=f.deprecated_by,
        now=f.now,
        thresholds=limits,
    )


@PROPERTY
@given(all_facts, thresholds)
def test_the_status_follows_the_documented_precedence(
    f: Facts, limits: MaintenanceThresholds
) -> None:
    found = status_of(f, limits)

    deprecated = (
        f.pypi_status in {"deprecated", "quarantined"}
        or f.date_deprecated is not None
        or bool((f.deprecated_by or "").strip())
    )
    archived = f.repo_archived_at is not None or f.pypi_status == "archived"
    ages = [
        whole_months_between(d, f.now) for d in (f.last_commit, f.last_release) if d is not None
    ]
    assert found.status in STATUSES
    if deprecated:
        assert found.status == "deprecated"
    elif archived:
        assert found.status == "archived"
    elif not ages:
        assert found.status == "unknown"
    elif min(ages) < limits.active_months:
        assert found.status == "active"
    elif min(ages) < limits.stale_months:
        assert found.status == "stale"
    else:
        assert found.status == "inactive"


@PROPERTY
@given(all_facts, thresholds)
def test_never_active_without_a_date_within_the_threshold_and_reasons_empty_only_then(
    f: Facts, limits: MaintenanceThresholds
) -> None:
    found = status_of(f, limits)

    recent = [
        d
        for d in (f.last_commit, f.last_release)
        if d is not None and whole_months_between(d, f.now) < limits.active_months
    ]
    if found.status == "active":
        assert recent
    assert (found.reasons == ()) == (found.status == "active")
    assert all(reason and "\n" not in reason for reason in found.reasons)
    assert found.commits_last_year == (sum(f.commits_over_52) if f.commits_over_52 else None)
    assert (found.last_commit, found.last_release) == (f.last_commit, f.last_release)


@PROPERTY
@given(
    all_facts,
    thresholds,
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=4000)),
)
def test_time_passing_never_makes_a_package_more_active(
    f: Facts, limits: MaintenanceThresholds, later: dt.timedelta
) -> None:
    before = status_of(f, limits).status
    after = status_of(replace(f, now=f.now + later), limits).status

    if before in LADDER:
        assert LADDER[after] >= LADDER[before]
    else:
        assert after == before  # deprecated and archived do not depend on time


# --- the query side: a stored standing and a range of the last activity ------------------


@PROPERTY
@given(all_facts, thresholds)
def test_the_status_is_the_standing_else_the_activity(
    f: Facts, limits: MaintenanceThresholds
) -> None:
    held = standing(
        pypi_status=f.pypi_status,
        date_deprecated=f.date_deprecated,
        replaced=bool((f.deprecated_by or "").strip()),
        repo_archived_at=f.repo_archived_at,
    )
    recency = activity(last_activity(f.last_commit, f.last_release), f.now, limits)

    assert status_of(f, limits).status == (held or recency)


@PROPERTY
@given(aware_datetimes, st.integers(1, 60), aware_datetimes)
@example(
    dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), 1, dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
)
@example(
    dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), 1, dt.datetime(2026, 2, 28, 23, tzinfo=dt.UTC)
)
@example(dt.datetime(2028, 2, 29, tzinfo=dt.UTC), 12, dt.datetime(2027, 2, 28, tzinfo=dt.UTC))
def test_the_cutoff_splits_ages_exactly_at_the_threshold(
    now: dt.datetime, months: int, moment: dt.datetime
) -> None:
    cutoff = activity_cutoff(now, months)
    # Moments around the boundary, where month ends make it irregular, and anywhere.
    for d in (moment, cutoff, cutoff - dt.timedelta(microseconds=1), cutoff + dt.timedelta(days=1)):
        assert (whole_months_between(d, now) < months) == (d >= cutoff)


def test_the_cutoff_on_the_last_day_of_march_reaches_back_past_february() -> None:
    now = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)

    # Every moment of 28 February is a whole month back (a month on is 28 March, before
    # now); from 1 March none is (a month on is 1 April). 29-31 March have no February.
    assert activity_cutoff(now, 1) == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@given(
    last=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2030, 12, 31),
        timezones=st.just(dt.UTC),
    ),
    later=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=2000)),
)
def test_the_activity_holds_until_changes_at_and_turns_there(
    last: dt.datetime, later: dt.timedelta
) -> None:
    """What the read cache relies on: no instant before changes_at reads otherwise."""
    thresholds = MaintenanceThresholds()
    now = last + later
    turn = activity_changes_at(last, now, thresholds)
    if turn is None:
        assert activity(last, now + dt.timedelta(days=5000), thresholds) == activity(
            last, now, thresholds
        )
        return
    assert turn > now
    before = turn - dt.timedelta(microseconds=1)
    assert activity(last, before, thresholds) == activity(last, now, thresholds)
    assert activity(last, turn, thresholds) != activity(last, now, thresholds)
