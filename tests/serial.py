"""`@pytest.mark.serial`: a test that runs while no other test of the run does.

pytest-xdist runs tests in several worker processes at once. Every test holds a shared
lock on a file of the run while it runs; a serial test holds it exclusively, so it starts
once the tests in flight in the other workers have finished, and they wait for it before
starting their next one. A second lock, taken briefly by everyone before the first, lets a
serial test that is waiting go before tests that arrive after it (no starvation). flock
locks belong to the open file, so a worker that dies releases its own.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MARKER = "serial"  # declared in pyproject.toml, for --strict-markers


@contextmanager
def turn(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the run's machine lock, shared or exclusive, for the block."""
    with (
        (directory / "serial-tests.queue").open("a") as queue,
        (directory / "serial-tests.lock").open("a") as lock,
    ):
        fcntl.flock(queue, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(queue, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
