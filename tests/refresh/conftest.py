"""A fresh database per test (the refresher opens its own sessions, concurrently, so the
rolled-back shared connection of the top-level fixtures cannot serve it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.conftest import Databases
from tests.refresh.doubles import Db, fresh_db


@pytest_asyncio.fixture
async def db(databases: Databases) -> AsyncIterator[Db]:
    async with fresh_db(databases) as database:
        yield database
