"""The refresher in the application's lifespan: forges opened, loop started, stopped cleanly.

`app.state.refresh_service` is always the process's Refresher (on-demand refreshes use it
even when the periodic loop is off); `app.state.refresher` is the same object when
REFRESH_ENABLED, else None (the readiness check asks it `stuck()`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from app.config import Settings
from app.forges.registry import open_forges
from app.refresh.refresher import ForgeDirectory, Refresher

OpenForges = Callable[[Settings], AbstractAsyncContextManager[ForgeDirectory]]


def default_open_forges() -> OpenForges:
    return open_forges


@asynccontextmanager
async def refresher_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Tests (and the benchmark) may point the refresher at other forges.
    opener: OpenForges = getattr(app.state, "open_forges", None) or default_open_forges()
    async with opener(settings) as forges:
        refresher = Refresher(
            app.state.sessionmaker, forges, settings, writers=app.state.sqlite_writers
        )
        app.state.refresh_service = refresher
        app.state.refresher = refresher if settings.refresh_enabled else None
        if settings.refresh_enabled:
            refresher.start()
        try:
            yield
        finally:
            await refresher.stop()
