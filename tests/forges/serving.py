"""A fake upstream served over loopback with the Upstream a client sends through."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from starlette.types import ASGIApp

from app.forges.base import RepoKey, RepoRequest
from app.forges.http import Upstream
from tests.fakes import Recorder, serve_on_loopback

# A Friday: its week began on Sunday 2026-11-15, and the 52 weeks on Sunday 2025-11-23.
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
WINDOW_START = dt.datetime(2025, 11, 23, tzinfo=dt.UTC)


@dataclass
class Served:
    base: str
    upstream: Upstream
    recorder: Recorder

    def paths(self) -> list[str]:
        return self.recorder.paths()


@asynccontextmanager
async def served(app: ASGIApp, name: str) -> AsyncIterator[Served]:
    """`app` on a loopback port, and an Upstream named `name` whose retries are quick."""
    recorder = Recorder(app)
    async with serve_on_loopback(recorder) as base, httpx.AsyncClient(timeout=5.0) as client:
        upstream = Upstream(name, client, attempts=3, wait_initial=0.001, wait_max=0.005)
        yield Served(base, upstream, recorder)


def ask(host: str, path: str, **etags: str) -> RepoRequest:
    return RepoRequest(RepoKey(host, path), etags)


def weeks_ago(weeks: float, *, hours: float = 0) -> dt.datetime:
    return NOW - dt.timedelta(weeks=weeks, hours=hours)
