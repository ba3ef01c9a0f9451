"""The score breakdown recomputes package_score exactly, term by term."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict

from hypothesis import example, given
from hypothesis import strategies as st

from app.insights.score import package_score
from app.insights.score_breakdown import ScoreBreakdown, score_breakdown
from tests.insights.strategies import PROPERTY, aware_datetimes, optional_datetimes

NOW = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
# The stars column is an INTEGER: anything a 32-bit signed integer holds.
stars = st.integers(-(2**31), 2**31 - 1)


def test_the_seed_package_is_floored_and_says_why() -> None:
    # django-shop (tests' seed 631): 3310 stars, last commit 2021-02-28.
    found = score_breakdown(3310, dt.datetime(2021, 2, 28, 18, 4, 57, tzinfo=dt.UTC), True, NOW)

    assert found == ScoreBreakdown(
        score=-500,
        stars=3310,
        quarters_since_last_commit=23,  # 69 whole months
        age_penalty=-7613.0,
        supports_python3=True,
        python2_penalty=0.0,
        before_floor=-4303,
        floor=-500,
        floor_applied=True,
    )


def test_an_unknown_commit_date_costs_one_tenth_and_python_2_costs_30_percent() -> None:
    found = score_breakdown(1000, None, None, NOW)

    assert found.quarters_since_last_commit is None
    assert (found.age_penalty, found.python2_penalty) == (-100.0, -300.0)
    assert (found.before_floor, found.score, found.floor_applied) == (600, 600, False)


def test_the_python_2_penalty_stops_at_1000() -> None:
    found = score_breakdown(100_000, NOW, False, NOW)

    assert found.python2_penalty == -1000.0
    assert found.score == 99_000


def test_a_zero_penalty_is_served_as_0_not_minus_0() -> None:
    found = score_breakdown(0, NOW, True, NOW)

    assert json.dumps(asdict(found)) == json.dumps(
        {
            "score": 0,
            "stars": 0,
            "quarters_since_last_commit": 0,
            "age_penalty": 0.0,
            "supports_python3": True,
            "python2_penalty": 0.0,
            "before_floor": 0,
            "floor": -500,
            "floor_applied": False,
        }
    )


@PROPERTY
@given(stars, optional_datetimes, st.sampled_from([True, False, None]), aware_datetimes)
@example(3, dt.datetime(2026, 1, 31, tzinfo=dt.UTC), True, dt.datetime(2026, 4, 30, tzinfo=dt.UTC))
@example(2**31 - 1, None, False, NOW)
@example(7, NOW + dt.timedelta(days=400), None, NOW)  # a commit "in the future"
def test_the_terms_always_recompute_the_score_exactly(
    count: int, last_commit: dt.datetime | None, python3: bool | None, now: dt.datetime
) -> None:
    found = score_breakdown(count, last_commit, python3, now)

    assert found.score == package_score(count, last_commit, python3, now)
    # What a client does with the served terms:
    total = found.stars + found.age_penalty + found.python2_penalty
    assert found.before_floor == int(total)
    assert found.score == max(found.floor, found.before_floor)
    assert found.floor_applied == (found.before_floor < found.floor)
    if found.quarters_since_last_commit is None:
        assert last_commit is None and found.age_penalty == -(count / 10)
    else:
        assert found.quarters_since_last_commit >= 0
        assert found.age_penalty == -(found.quarters_since_last_commit * count / 10)
    assert (found.python2_penalty == 0) == (bool(python3) or count == 0)
    if count >= 0:
        assert found.age_penalty <= 0 and found.python2_penalty <= 0
