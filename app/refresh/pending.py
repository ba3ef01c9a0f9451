"""Packages a forge is still computing figures for (PENDING), asked again within one run.

`packages-api refresh` is done when its packages' figures are complete: a forge that
answers "still computing" (GitHub's statistics answered 202 that way) is asked again, with
backoff, while the run's other packages proceed, for up to REFRESH_PENDING_WAIT seconds
from its first such answer. What is still pending then stays so, counted in the run's
summary, and the next run (or `serve`'s loop, at refresh_retry_at) asks again.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

# The first retry after this many seconds, doubling, never more than the cap apart.
FIRST_RETRY = 1.0
RETRY_CAP = 15.0
JITTER = 0.1  # up to 10% later, so packages that waited together do not return together


@dataclass(slots=True)
class _Waiting:
    since: float
    tries: int
    due: float


@dataclass
class PendingRetries:
    """The run's pending packages by id, and when each is due again."""

    wait: float  # REFRESH_PENDING_WAIT
    _waiting: dict[int, _Waiting] = field(default_factory=dict)

    def note(self, package_id: int, *, pending: bool) -> bool:
        """Record a package's latest outcome. True when it was retried before (its
        earlier outcome was counted already)."""
        now = time.monotonic()
        waiting = self._waiting.get(package_id)
        if not pending:
            self._waiting.pop(package_id, None)
            return waiting is not None
        if waiting is None:
            waiting = self._waiting[package_id] = _Waiting(since=now, tries=0, due=now)
            retried = False
        else:
            retried = True
        waiting.tries += 1
        delay = min(FIRST_RETRY * 2 ** (waiting.tries - 1), RETRY_CAP)
        waiting.due = now + delay * (1 + random.uniform(0, JITTER))  # noqa: S311 (spreading)
        if waiting.due - waiting.since > self.wait:
            del self._waiting[package_id]  # waited long enough: the next run asks again
        return retried

    def take_due(self) -> tuple[int, ...]:
        """The packages due again now; each is taken (not due again) until noted."""
        now = time.monotonic()
        due = tuple(sorted(pid for pid, waiting in self._waiting.items() if waiting.due <= now))
        for package_id in due:
            self._waiting[package_id].due = math.inf
        return due

    def seconds_to_next(self) -> float | None:
        """Seconds until the next package is due; None when none is waiting to be."""
        upcoming = [w.due for w in self._waiting.values() if w.due != math.inf]
        if not upcoming:
            return None
        return max(min(upcoming) - time.monotonic(), 0.0)

    def forget(self, package_ids: tuple[int, ...]) -> None:
        """Packages that could not be claimed again (edited, taken by another refresher)."""
        for package_id in package_ids:
            self._waiting.pop(package_id, None)
