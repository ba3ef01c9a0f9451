"""The package score, as djangopackages computes it, so rankings mean the same thing here.

Source: djangopackages/djangopackages, `package/scores.py` (`_calculate_score`): the score
is the star count, minus a tenth of the stars for every full quarter (3 calendar months,
counted with dateutil's relativedelta) since the last commit, or a single tenth when the
date is unknown; minus 30% of the stars (at most 1000) unless the package supports
Python 3 (unknown counts as no, as there: `supports_python3` is nullable and tested for
truth); truncated to an integer and floored at -500.
"""

from __future__ import annotations

import calendar
import datetime as dt

FLOOR = -500
PYTHON2_PENALTY_CAP = 1000


def whole_months_between(start: dt.datetime, end: dt.datetime) -> int:
    """Calendar months from `start` to `end` that have fully passed (relativedelta's
    `years * 12 + months`): Jan 15 to Feb 14 is 0, Jan 15 to Feb 15 is 1, and Jan 31 to
    Feb 28 is 1 (a day past the month's end clamps to it, as relativedelta does)."""
    if end < start:
        return -whole_months_between(end, start)
    months = (end.year - start.year) * 12 + (end.month - start.month)
    # The last month is whole only once the day and time of day have come round again;
    # a start on the 31st is reached at the end of a shorter month (as relativedelta does).
    anniversary = add_months(start, months)
    if anniversary > end:
        months -= 1
    return months


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` a number of calendar months later, a day past the month's end clamped to it."""
    year, month0 = divmod(moment.month - 1 + months, 12)
    year += moment.year
    month = month0 + 1
    last_day = _days_in_month(year, month)
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


# A table, not date arithmetic: this runs a few times for every package a list renders
# (maintenance and score), and building two dates cost ten times the lookup.
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    return 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month - 1]


def package_score(
    stars: int, last_commit: dt.datetime | None, supports_python3: bool | None, now: dt.datetime
) -> int:
    if last_commit is not None:
        quarters = max(whole_months_between(last_commit, now), 0) // 3
        age_penalty = quarters * stars / 10
    else:
        age_penalty = stars / 10
    python_penalty = 0.0 if supports_python3 else min(stars * 30 / 100, PYTHON2_PENALTY_CAP)
    return max(FLOOR, int(stars - age_penalty - python_penalty))
