"""The importer's bulk INSERTs keep the list counts exact (the table_counts triggers)."""

from __future__ import annotations

from app.config import Settings
from app.transfer.jobs import run_import
from app.transfer.source_http import HttpSource
from tests.conftest import Databases
from tests.transfer.fake_api import FakeApi
from tests.transfer.helpers import api_client


async def _counts(url: str) -> dict[str, int]:
    async with api_client(url) as client:
        return {
            table: (await client.get(f"/api/v4/{table}/?cursor=")).json()["count"]
            for table in ("categories", "grids", "packages")
        }


async def test_an_import_is_counted_once(
    databases: Databases, fake_root: str, fake_api: FakeApi
) -> None:
    url = await databases.fresh()
    expected = {table: len(fake_api.data[table]) for table in ("categories", "grids", "packages")}
    assert all(expected.values())

    result = await run_import(Settings(database_url=url), HttpSource(fake_root, attempts=2))
    assert result.committed
    assert await _counts(url) == expected

    # A second run updates nothing and inserts nothing: the counts stay.
    assert (await run_import(Settings(database_url=url), HttpSource(fake_root))).committed
    assert await _counts(url) == expected
