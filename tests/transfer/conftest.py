"""Fixtures of the import/export tests: the fake djangopackages API, served on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.transfer.fake_api import FakeApi, serve_on_loopback


@pytest.fixture
def fake_api() -> FakeApi:
    return FakeApi()


@pytest_asyncio.fixture
async def fake_root(fake_api: FakeApi) -> AsyncIterator[str]:
    """The fake API's root URL, as a user would pass it to `packages-api import`."""
    async with serve_on_loopback(fake_api.app()) as base_url:
        fake_api.base_url = base_url
        yield f"{base_url}/api/v4/"
