"""The rule from a package's inputs to its stored facts (app.insights.stored), and the
filters that read them (app.repositories.filters): for any inputs drawn from PyPI's and
the forges' domains, a filter finds a package exactly when the answer it serves says so."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import Settings
from app.errors import InvalidQuery
from app.insights.context import Insight
from app.insights.maintenance import STATUSES, MaintenanceThresholds, maintenance
from app.insights.stored import PYTHON_UNIVERSE, StoredFacts, stored_facts
from app.insights.versions import django_versions, python_versions, supports
from app.repositories.filters import FactFilters, parse_fact_filters
from tests.insights.strategies import (
    PROPERTY,
    aware_datetimes,
    classifiers,
    optional_datetimes,
    requires_python,
)

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
pypi_statuses = st.one_of(
    st.none(), st.sampled_from(["active", "archived", "deprecated", "quarantined", "retired"])
)
weeks = st.one_of(st.just([]), st.lists(st.integers(0, 500), min_size=52, max_size=52))
thresholds = st.tuples(st.integers(1, 30), st.integers(0, 30)).map(
    lambda pair: MaintenanceThresholds(pair[0], pair[0] + pair[1])
)
candidates = st.lists(st.sampled_from(PYTHON_UNIVERSE), min_size=1, max_size=6, unique=True)


def facts_of(**inputs: object) -> StoredFacts:
    """The stored facts of a package that has only `inputs`: nothing else fetched or set."""
    empty: dict[str, object] = {
        "classifiers": [],
        "requires_python": None,
        "commits_over_52": [],
        "last_commit": None,
        "last_release": None,
        "pypi_status": None,
        "date_deprecated": None,
        "deprecated_by_id": None,
        "repo_archived_at": None,
    }
    return stored_facts(**{**empty, **inputs})  # type: ignore[arg-type]


def matches(filters: FactFilters, facts: StoredFacts) -> bool:
    """What the SQL of `filters` finds, evaluated on one package's stored facts."""
    rows = set(facts.versions)
    for wanted in (filters.django, filters.python):
        if wanted is not None and (wanted.kind, wanted.version) not in rows:
            return False
    status = filters.status
    if status is None:
        return True
    if facts.standing in status.standings:
        return True
    if facts.standing != "":
        return False
    if facts.last_activity is None:
        return status.unknown
    return any(
        (low is None or facts.last_activity >= low) and (high is None or facts.last_activity < high)
        for low, high in status.ranges
    )


@PROPERTY
@given(
    last_commit=optional_datetimes,
    last_release=optional_datetimes,
    commits=weeks,
    archived=optional_datetimes,
    pypi_status=pypi_statuses,
    deprecated=optional_datetimes,
    replaced=st.booleans(),
    limits=thresholds,
    now=aware_datetimes,
    wanted=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=6),
)
def test_a_status_filter_finds_a_package_exactly_when_its_served_status_is_wanted(
    last_commit: dt.datetime | None,
    last_release: dt.datetime | None,
    commits: list[int],
    archived: dt.datetime | None,
    pypi_status: str | None,
    deprecated: dt.datetime | None,
    replaced: bool,
    limits: MaintenanceThresholds,
    now: dt.datetime,
    wanted: list[str],
) -> None:
    served = maintenance(
        last_commit=last_commit,
        last_release=last_release,
        commits_over_52=commits,
        repo_archived_at=archived,
        forge="github",
        pypi_status=pypi_status,
        date_deprecated=deprecated,
        deprecated_by="the-replacement" if replaced else None,
        now=now,
        thresholds=limits,
    )
    facts = stored_facts(
        classifiers=[],
        requires_python=None,
        commits_over_52=commits,
        last_commit=last_commit,
        last_release=last_release,
        pypi_status=pypi_status,
        date_deprecated=deprecated,
        deprecated_by_id=7 if replaced else None,
        repo_archived_at=archived,
    )
    insight = Insight(thresholds=limits, now=now)

    filters = parse_fact_filters(insight, status=", ".join(wanted))

    assert matches(filters, facts) == (served.status in wanted)
    assert facts.commits_last_year == served.commits_last_year


@PROPERTY
@given(
    found=classifiers,
    requires=requires_python,
    settings_versions=candidates,
    wanted=st.sampled_from(PYTHON_UNIVERSE),
)
def test_a_python_filter_finds_a_package_exactly_when_its_python_versions_say_so(
    found: list[str], requires: str | None, settings_versions: list[str], wanted: str
) -> None:
    served = python_versions(found, requires, settings_versions)
    facts = facts_of(classifiers=found, requires_python=requires)
    insight = Insight(python_versions=tuple(settings_versions), now=NOW)

    filters = parse_fact_filters(insight, python=wanted)

    assert matches(filters, facts) == supports(served, wanted)


@PROPERTY
@given(found=classifiers, wanted=st.from_regex(r"[0-9]\.[0-9]{1,2}", fullmatch=True))
def test_a_django_filter_finds_a_package_exactly_when_its_django_versions_say_so(
    found: list[str], wanted: str
) -> None:
    facts = facts_of(classifiers=found, commits_over_52=None)
    filters = parse_fact_filters(Insight(now=NOW), django=wanted)

    assert matches(filters, facts) == supports(django_versions(found), wanted)


def test_standing_follows_the_statuses_precedence() -> None:
    def standing_of(**inputs: object) -> str:
        return facts_of(**inputs).standing

    assert standing_of() == ""
    assert standing_of(pypi_status="active") == ""
    assert standing_of(pypi_status="quarantined") == "deprecated"
    assert standing_of(pypi_status="archived", deprecated_by_id=3) == "deprecated"
    assert standing_of(repo_archived_at=NOW) == "archived"
    assert standing_of(pypi_status="archived") == "archived"
    assert standing_of(date_deprecated=NOW, repo_archived_at=NOW) == "deprecated"


def test_adjacent_statuses_are_one_range_of_the_index() -> None:
    insight = Insight(now=NOW)
    status = parse_fact_filters(insight, status="active,stale").status
    assert status is not None and len(status.ranges) == 1 and status.ranges[0][1] is None
    every = parse_fact_filters(insight, status="inactive, stale ,active,,").status
    assert every is not None and every.ranges == ((None, None),)
    assert every.standings == () and not every.unknown


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("status", "alive", "unknown status 'alive'"),
        ("status", "active;stale", "unknown status"),
        ("django", "5", "is not a version like 5.2"),
        ("django", "5.2.1", "is not a version like 5.2"),
        ("python", "\u0663.13", "is not a version like 5.2"),
        ("python", "3.12345", "is not a version like 5.2"),
    ],
)
def test_bad_values_are_refused_with_the_parameter_named(
    param: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidQuery) as refused:
        parse_fact_filters(Insight(now=NOW), **{param: value})
    assert refused.value.status_code == 400
    assert message in str(refused.value)


@pytest.mark.parametrize("value", ["3.30", "4.0", "2.6,3.12"])
def test_python_versions_setting_stays_within_the_stored_universe(value: str) -> None:
    with pytest.raises(ValueError, match=r"2\.7 and 3\.0 to 3\.29"):
        Settings(python_versions=value)
