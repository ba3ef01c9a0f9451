"""What the app carries from its start to every request (app.state), typed.

Filled in app.main only: `settings`, `readiness` and `status_cache` by create_app, the
rest by the lifespan.
Read through `state_of(request.app)`, so that a reader gets a type, not an Any.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from starlette.applications import Starlette
from starlette.datastructures import State

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from app.cache.lifespan import ReadCache
    from app.config import Settings
    from app.db import SqliteWriters
    from app.observability.readiness import Readiness
    from app.refresh.lifespan import OpenForges
    from app.refresh.refresher import Refresher
    from app.routers.status import StatusCache
    from app.webhooks.sender import WebhookSender


class AppState(State):
    # create_app
    settings: Settings
    readiness: Readiness
    # GET /api/v4/status/'s facts, read at most every few seconds per process.
    status_cache: StatusCache
    # the lifespan
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # SQLite: the process's writers (requests and the refresher) queue in one line.
    sqlite_writers: SqliteWriters | None
    # The read cache (app.cache): None when CACHE_ENABLED is false or it cannot be exact.
    read_cache: ReadCache | None
    # Always the process's Refresher (on-demand refreshes use it even when the periodic
    # loop is off); `refresher` is the same object when REFRESH_ENABLED, else None (the
    # readiness check asks it `stuck()`).
    refresh_service: Refresher
    refresher: Refresher | None
    # The webhook sender (its loop runs when WEBHOOKS_ENABLED; tests call run_once).
    webhook_sender: WebhookSender
    # Tests and benchmarks may point the refresher at other forges (set before startup).
    open_forges: OpenForges | None


def state_of(app: Starlette) -> AppState:
    """The app's state, as create_app made it (an AppState)."""
    return cast(AppState, app.state)
