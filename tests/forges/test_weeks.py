"""The 52-week window: Sunday 00:00 UTC boundaries, offsets, and what falls outside."""

from __future__ import annotations

import datetime as dt

import pytest

from app.forges.weeks import WEEKS, window

UTC = dt.UTC
FRIDAY = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
THIS_SUNDAY = dt.datetime(2026, 11, 15, tzinfo=UTC)
FIRST_SUNDAY = dt.datetime(2025, 11, 23, tzinfo=UTC)


def test_the_window_is_52_weeks_ending_with_the_current_one() -> None:
    weeks = window(FRIDAY)
    assert weeks.start == FIRST_SUNDAY
    assert weeks.end == THIS_SUNDAY + dt.timedelta(weeks=1)
    assert weeks.end - weeks.start == dt.timedelta(weeks=WEEKS)


@pytest.mark.parametrize(
    "now",
    [
        THIS_SUNDAY,  # the first instant of the week
        THIS_SUNDAY + dt.timedelta(days=7) - dt.timedelta(microseconds=1),  # its last
        # Saturday evening in New York is already Sunday in UTC: the next week.
        dt.datetime(2026, 11, 14, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ],
)
def test_a_week_runs_from_sunday_midnight_utc(now: dt.datetime) -> None:
    assert window(now).end == THIS_SUNDAY + dt.timedelta(weeks=1)


def test_commits_fall_in_their_weeks_at_the_edges() -> None:
    weeks = window(FRIDAY)
    tick = dt.timedelta(microseconds=1)
    dates = [
        FIRST_SUNDAY - tick,  # just before the window: not counted
        FIRST_SUNDAY,  # the first instant of week 0
        FIRST_SUNDAY + dt.timedelta(weeks=1) - tick,  # the last instant of week 0
        FIRST_SUNDAY + dt.timedelta(weeks=1),  # week 1
        THIS_SUNDAY,  # the current week
        weeks.end - tick,  # still the current week
        weeks.end,  # next week, a clock ahead of time: not counted
    ]
    totals = weeks.totals(dates)
    assert len(totals) == WEEKS
    assert totals[0] == 2 and totals[1] == 1 and totals[-1] == 2
    assert sum(totals) == 5


def test_offsets_are_read_as_the_instants_they_name() -> None:
    weeks = window(FRIDAY)
    # 01:00 on Sunday in Paris is 00:00 UTC on Sunday: the current week.
    paris = dt.timezone(dt.timedelta(hours=1))
    # 20:00 on Saturday in Chicago is 02:00 UTC on Sunday: the current week too.
    chicago = dt.timezone(dt.timedelta(hours=-6))
    dates = [
        dt.datetime(2026, 11, 15, 1, 0, tzinfo=paris),
        dt.datetime(2026, 11, 14, 20, 0, tzinfo=chicago),
        dt.datetime(2026, 11, 15, 0, 30, tzinfo=paris),  # Saturday 23:30 UTC: the week before
    ]
    totals = weeks.totals(dates)
    assert totals[-1] == 2 and totals[-2] == 1


def test_naive_dates_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window(dt.datetime(2026, 11, 20))
    with pytest.raises(ValueError, match="timezone-aware"):
        window(FRIDAY).totals([dt.datetime(2026, 11, 20)])
