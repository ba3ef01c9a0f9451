"""Failed deliveries are retried with exponential backoff and full jitter, capped, and
given up 24 h after the first attempt, the last retry made at that mark."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.webhooks.backoff import DEFAULT_POLICY, RetryPolicy

FIRST = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(hours=24)
draws = st.floats(min_value=0, max_value=1, exclude_max=True)


def schedule(policy: RetryPolicy, rng: random.Random) -> list[dt.datetime]:
    """The attempts made for a receiver that never answers, until the policy gives up."""
    attempts = [FIRST]
    while True:
        retry = policy.next_attempt(
            attempts=len(attempts),
            first_attempt_at=FIRST,
            last_attempt_at=attempts[-1],
            draw=rng.random(),
        )
        if retry is None:
            return attempts
        attempts.append(retry)


def test_the_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    ceilings = [DEFAULT_POLICY.ceiling(attempts) for attempts in range(1, 14)]
    assert [ceiling.total_seconds() for ceiling in ceilings] == [
        10,
        20,
        40,
        80,
        160,
        320,
        640,
        1280,
        2560,
        3600,
        3600,
        3600,
        3600,
    ]
    assert DEFAULT_POLICY.ceiling(10**9) == dt.timedelta(hours=1)


def test_full_jitter_spreads_a_wait_over_the_whole_ceiling() -> None:
    assert DEFAULT_POLICY.delay(5, 0.5) == dt.timedelta(seconds=80)
    assert DEFAULT_POLICY.delay(5, 0.999) == dt.timedelta(seconds=159.84)
    assert DEFAULT_POLICY.delay(5, 0.0) == dt.timedelta(seconds=1)  # the floor


@pytest.mark.parametrize(("attempts", "draw"), [(0, 0.5), (-3, 0.5), (1, 1.0), (1, -0.1)])
def test_nonsense_is_refused(attempts: int, draw: float) -> None:
    with pytest.raises(ValueError, match=r"attempts|draw"):
        DEFAULT_POLICY.delay(attempts, draw)


@given(
    attempts=st.integers(min_value=1, max_value=10**6),
    elapsed=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3)),
    draw=draws,
    retry_after=st.one_of(st.none(), st.timedeltas(min_value=dt.timedelta(0), max_value=DAY)),
)
def test_a_retry_comes_after_the_failure_within_the_ceiling_and_never_past_the_deadline(
    attempts: int, elapsed: dt.timedelta, draw: float, retry_after: dt.timedelta | None
) -> None:
    last = FIRST + elapsed
    retry = DEFAULT_POLICY.next_attempt(
        attempts=attempts,
        first_attempt_at=FIRST,
        last_attempt_at=last,
        draw=draw,
        retry_after=retry_after,
    )
    if elapsed >= DAY:
        assert retry is None
        return
    assert retry is not None
    assert last < retry <= FIRST + DAY
    longest = max(DEFAULT_POLICY.ceiling(attempts), retry_after or dt.timedelta(0))
    assert retry - last <= max(longest, DEFAULT_POLICY.floor)
    if retry < FIRST + DAY and retry_after is not None:
        assert retry - last >= retry_after  # Retry-After is honoured


def test_the_same_draws_give_the_same_schedule() -> None:
    assert schedule(DEFAULT_POLICY, random.Random(7)) == schedule(DEFAULT_POLICY, random.Random(7))


@given(seed=st.integers())
def test_a_receiver_that_stays_down_gets_retries_for_24_hours_then_none(seed: int) -> None:
    attempts = schedule(DEFAULT_POLICY, random.Random(seed))

    assert attempts == sorted(attempts)
    assert attempts[-1] == FIRST + DAY  # the last retry is made at the mark ...
    assert attempts[-2] < FIRST + DAY  # ... once
    # Exponential at first: the first retries come within minutes, not hours.
    assert attempts[5] - FIRST < dt.timedelta(minutes=11)
    # Waits of 30 minutes on average once capped: 57 attempts on average (45 to 74 over
    # 2,000 simulated schedules), never a flood.
    assert 30 <= len(attempts) <= 110


def test_a_shorter_policy_gives_up_sooner() -> None:
    policy = RetryPolicy(give_up_after=dt.timedelta(minutes=5))
    attempts = schedule(policy, random.Random(1))
    assert attempts[-1] == FIRST + dt.timedelta(minutes=5)
