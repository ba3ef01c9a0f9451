"""The refresher's Core writes make events only for figures that really changed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import select

from app.models import Change
from app.refresh.refresher import Refresher
from app.refresh.repository import Selection
from tests.conftest import Databases
from tests.refresh.doubles import Db, ScriptedForges, fresh_db, ok

EVERYTHING = Selection(stale_after=None, respect_backoff=False)


@pytest_asyncio.fixture
async def db(databases: Databases) -> AsyncIterator[Db]:
    async with fresh_db(databases) as database:
        yield database


async def _events(db: Db, after: int) -> list[tuple[str, str, list[str]]]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(select(Change).where(Change.seq > after).order_by(Change.seq))
        return [(row.kind, row.resource, row.fields) for row in rows]


async def test_a_refresh_with_the_same_figures_makes_no_event(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["acme/shop"] = ok(stars=120, forks=7, description="A shop")
    await db.add("shop", "https://github.com/acme/shop")
    refresher = Refresher(db.sessionmaker, forges, db.settings())
    start = len(await _events(db, 0))  # the category and the package

    await refresher.run(EVERYTHING)
    first = await _events(db, start)
    assert len(first) == 1
    kind, resource, fields = first[0]
    assert (kind, resource) == ("updated", "packages")
    assert {"repo_watchers", "repo_forks", "repo_description"} <= set(fields)
    assert "last_fetched" not in fields

    await refresher.run(EVERYTHING)  # the same figures again: bookkeeping only
    assert await _events(db, start + 1) == []

    forges.github.answers["acme/shop"] = ok(stars=121, forks=7, description="A shop")
    await refresher.run(EVERYTHING)
    [(kind, resource, fields)] = await _events(db, start + 1)
    assert (kind, resource) == ("updated", "packages")
    # The score follows the stars, when one more star moves it.
    assert fields in (["repo_watchers"], ["repo_watchers", "score"])
