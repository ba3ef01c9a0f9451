"""The 52 weekly commit totals: one definition of a week for every forge that needs one.

GitHub computes `commits_over_52` itself (its commit_activity weeks start on Sunday,
00:00 UTC); the other forges only list commits, so their clients count them here, with
the same weeks: bucket 51 is the current week (Sunday 00:00 UTC up to the next one),
bucket 0 the week 51 weeks before it. Commits before bucket 0 are not counted, nor are
commits dated after the current week (a committer's clock ahead of time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

WEEKS = 52
_WEEK = dt.timedelta(weeks=1)


@dataclass(frozen=True, slots=True)
class Window:
    """The 52 weeks being counted: `start` <= commit date < `end`, both in UTC."""

    start: dt.datetime
    end: dt.datetime

    def bucket(self, when: dt.datetime) -> int | None:
        """The week (0..51) of a timezone-aware instant, or None outside the window."""
        if when.tzinfo is None:
            raise ValueError("commit dates must be timezone-aware")
        if not self.start <= when < self.end:
            return None
        return (when - self.start) // _WEEK

    def totals(self, dates: Iterable[dt.datetime]) -> list[int]:
        """Commits per week, oldest first, current week last; always 52 numbers."""
        counts = [0] * WEEKS
        for when in dates:
            index = self.bucket(when)
            if index is not None:
                counts[index] += 1
        return counts


def window(now: dt.datetime) -> Window:
    """The 52 weeks that end with the week containing `now` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    midnight = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # weekday(): Monday is 0 and Sunday 6, so this counts days back to the last Sunday.
    week_start = midnight - dt.timedelta(days=(midnight.weekday() + 1) % 7)
    return Window(start=week_start - (WEEKS - 1) * _WEEK, end=week_start + _WEEK)
