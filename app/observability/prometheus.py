"""/metrics in Prometheus' text format, correct with one worker or several.

With several worker processes each keeps its own figures; prometheus_client's
multiprocess mode has every worker write them to files in PROMETHEUS_MULTIPROC_DIR and
the worker that answers a scrape sums them all. The variable must be set before any worker
imports prometheus_client: `packages-api serve --workers N` creates a private directory,
sets it, and removes it on exit. A worker that stops marks its live gauges dead.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.types import Scope

from app.metrics import DB_POOL_CHECKED_OUT, DB_POOL_OVERFLOW, DB_POOL_SIZE

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db")

router = APIRouter(tags=["operations"])


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


# The figures last copied into the gauges: a gauge is written (a locked write to its file,
# with several workers) only when its figure changed, which after most requests (a read
# cache hit, a request on a pool that stayed as it was) it has not.
_last_pool_figures: tuple[int, int, int] | None = None


def observe_pool(engine: AsyncEngine | None) -> None:
    """Copy the pool's figures into the gauges. Called at each scrape and after each
    request, so with several workers each one's figures are as of its last request."""
    global _last_pool_figures
    if engine is None:
        return
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):  # NullPool or StaticPool: nothing to count
        return
    # SQLAlchemy counts overflow from -size (no connection open yet) upwards.
    figures = (pool.size(), pool.checkedout(), max(pool.overflow(), 0))
    if figures == _last_pool_figures:
        return
    _last_pool_figures = figures
    gauges = (DB_POOL_SIZE, DB_POOL_CHECKED_OUT, DB_POOL_OVERFLOW)
    for gauge, figure in zip(gauges, figures, strict=True):
        gauge.set(figure)


def observe_pool_after_request(scope: Scope) -> None:
    app = scope.get("app")
    observe_pool(getattr(getattr(app, "state", None), "engine", None))


def _render(encoder: Callable[[CollectorRegistry], bytes]) -> bytes:
    directory = multiprocess_dir()
    if directory is None:
        return encoder(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return encoder(registry)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE_PLAIN_0_0_4: {}},
            "description": "Prometheus text format 0.0.4, or what the Accept header asks "
            "for (OpenMetrics, text 1.0.0).",
        }
    },
)
async def metrics(request: Request) -> Response:
    """Requests by route template and status, their latency, the database pool, and the
    refresher's figures, summed over every worker process."""
    observe_pool(getattr(request.app.state, "engine", None))
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    # In multiprocess mode this reads every worker's files: off the event loop.
    if multiprocess_dir():
        body = await asyncio.to_thread(_render, encoder)
    else:
        body = _render(encoder)
    return Response(body, headers={"Content-Type": content_type})


def forget_dead_workers() -> None:
    """Drop live gauges left by workers that died without stopping (killed, crashed), so
    their last pool figures are not summed forever."""
    directory = multiprocess_dir()
    if directory is None:
        return
    pids = {
        int(match.group(1))
        for name in os.listdir(directory)
        if (match := _LIVE_GAUGE_FILE.fullmatch(name))
    }
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, another user's
            pass


def worker_stopped() -> None:
    directory = multiprocess_dir()
    if directory is not None:
        mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


@contextmanager
def private_multiprocess_dir(workers: int) -> Iterator[None]:
    """For `serve --workers N` (N > 1): a fresh directory for the workers' metric files,
    set in the environment the workers inherit, removed when serving ends. An operator's
    own PROMETHEUS_MULTIPROC_DIR is used as it is."""
    if workers <= 1 or multiprocess_dir() is not None:
        yield
        return
    directory = Path(tempfile.mkdtemp(prefix="packages-api-metrics-"))
    os.environ[MULTIPROC_ENV] = str(directory)
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)
