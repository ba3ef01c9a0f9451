"""The refresher in the application's lifespan: forges opened, loop started, stopped cleanly.

app.main's lifespan puts the Refresher in the app's state (app.state.AppState).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

from app.config import Settings
from app.forges.registry import open_forges
from app.refresh.refresher import ForgeDirectory, Refresher

if TYPE_CHECKING:
    from app.state import AppState

OpenForges = Callable[[Settings], AbstractAsyncContextManager[ForgeDirectory]]


def default_open_forges() -> OpenForges:
    return open_forges


@asynccontextmanager
async def refresher_lifespan(state: AppState) -> AsyncIterator[Refresher]:
    """The process's Refresher, its loop started when REFRESH_ENABLED."""
    settings = state.settings
    # Tests (and the benchmark) may point the refresher at other forges.
    opener: OpenForges = getattr(state, "open_forges", None) or default_open_forges()
    async with opener(settings) as forges:
        refresher = Refresher(state.sessionmaker, forges, settings, writers=state.sqlite_writers)
        if settings.refresh_enabled:
            refresher.start()
        try:
            yield refresher
        finally:
            await refresher.stop()
