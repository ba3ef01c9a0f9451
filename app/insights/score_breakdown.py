"""Why a package ranks where it does: each term of the score formula and its value.

The formula is djangopackages' (app.insights.score): the star count, plus a negative age
penalty (a tenth of the stars per whole quarter since the last commit, or one tenth when
that date is unknown), plus a negative Python 2 penalty (30% of the stars, at most 1000,
unless the package supports Python 3), truncated toward zero, then floored at -500.

The terms are the very floats package_score() computes, signed so that they add up:
    score == max(floor, int(stars + age_penalty + python2_penalty))
holds exactly for every input (tests/insights/test_score_breakdown.py proves it against
package_score with hypothesis), so a client can recompute the score from the breakdown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.insights.score import FLOOR, PYTHON2_PENALTY_CAP, add_months, whole_months_between


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """The `score_breakdown` object of the package resource, keys in their served order."""

    score: int
    stars: int
    # Whole quarters (3 calendar months) since the last commit; None when it is unknown,
    # which costs a single tenth of the stars.
    quarters_since_last_commit: int | None
    age_penalty: float  # <= 0 for a non-negative star count
    supports_python3: bool | None
    python2_penalty: float  # <= 0 for a non-negative star count; 0 with Python 3
    before_floor: int  # int(stars + age_penalty + python2_penalty)
    floor: int
    floor_applied: bool  # the sum fell below the floor, which is the score


def next_quarter(last_commit: dt.datetime | None, quarters: int | None) -> dt.datetime | None:
    """When `quarters_since_last_commit` next grows (None: it is unknown, and stays so)."""
    if last_commit is None or quarters is None:
        return None
    return add_months(last_commit, 3 * (quarters + 1))


def score_breakdown(
    stars: int, last_commit: dt.datetime | None, supports_python3: bool | None, now: dt.datetime
) -> ScoreBreakdown:
    """The terms of package_score(stars, last_commit, supports_python3, now)."""
    quarters: int | None
    if last_commit is not None:
        quarters = max(whole_months_between(last_commit, now), 0) // 3
        age = quarters * stars / 10
    else:
        quarters = None
        age = stars / 10
    python2 = 0.0 if supports_python3 else min(stars * 30 / 100, PYTHON2_PENALTY_CAP)
    # 0.0 - x is exactly -x in IEEE 754, and +0.0 (not -0.0) when x is 0; a - b is
    # exactly a + (-b), so the sum below is package_score's own arithmetic.
    age_penalty = 0.0 - age
    python2_penalty = 0.0 - python2
    before_floor = int(stars + age_penalty + python2_penalty)
    return ScoreBreakdown(
        score=max(FLOOR, before_floor),
        stars=stars,
        quarters_since_last_commit=quarters,
        age_penalty=age_penalty,
        supports_python3=supports_python3,
        python2_penalty=python2_penalty,
        before_floor=before_floor,
        floor=FLOOR,
        floor_applied=before_floor < FLOOR,
    )
