"""Every record the original's database allows imports, and comes back as the source served
it: drawn from its whole domain (tests/transfer/domain.py), on both databases.

- A property (hypothesis): import from a djangopackages-shaped API, then the read API serves
  each record key for key as the source did (null stays null, [] stays [], text, URLs and
  lists unchanged, timestamps the same instants), then export, import into an empty
  database, export again: the same bytes, and importing the export again changes nothing.
  The `transfer-ci` profile draws a handful of small directories per database;
  HYPOTHESIS_TRANSFER_PROFILE=transfer-dev draws fifty.
- A few thousand records drawn the same way (a seeded random.Random): none refused, every
  one served key for key. The loader and the list pages are bulk paths: seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings

from app.config import Settings
from app.transfer.jobs import ImportResult, run_export, run_import
from app.transfer.source_file import FileSource
from app.transfer.source_http import HttpSource
from tests.conftest import Databases
from tests.transfer.domain import Directory, RandomDraw, directories, directory
from tests.transfer.fake_api import FakeApi, serve_on_loopback
from tests.transfer.helpers import api_client, every

settings.register_profile(
    "transfer-ci",
    max_examples=4,
    deadline=None,
    database=None,
    # A directory is many draws, and each example imports it into two databases.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "transfer-dev", parent=settings.get_profile("transfer-ci"), max_examples=50
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_TRANSFER_PROFILE", "transfer-ci"))

TIMESTAMPS = frozenset({"created", "modified", "last_updated", "last_fetched"})
LINKS = frozenset({"category", "grids", "packages"})


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


def _id(link: str) -> int:
    return int(link.rstrip("/").rsplit("/", 1)[1])


def assert_served_as_given(served: Mapping[str, Any], source: Mapping[str, Any]) -> None:
    """Key for key as the source served it: the same values (timestamps the same instants,
    hyperlinks to the same ids, on our host), a package's keys in the original's order."""
    label = f"{source.get('id')}"
    for key, expected in source.items():
        value = served[key]
        if key in TIMESTAMPS:
            assert _instant(value) == _instant(expected), (label, key, value, expected)
        elif key in LINKS:
            links = value if isinstance(value, list) else [value]
            assert all(link.startswith("http://testserver/api/v4/") for link in links), value
            wanted = expected if isinstance(expected, list) else [expected]
            assert [_id(link) for link in links] == [_id(link) for link in wanted], (label, key)
        else:
            assert value == expected, (label, key, value, expected)
            assert type(value) is type(expected), (label, key)


def _clean(result: ImportResult) -> None:
    summary = result.summary
    assert result.committed and result.error is None, result.error
    assert summary.refused == [], summary.refused[:5]
    assert summary.warnings == [], summary.warnings[:5]


async def _import_api(url: str, found: Directory) -> ImportResult:
    fake = FakeApi(max_limit=100, data=found.api_data())
    async with serve_on_loopback(fake.app()) as base:
        return await run_import(Settings(database_url=url), HttpSource(f"{base}/api/v4/"))


async def _import_file(url: str, path: Path) -> ImportResult:
    return await run_import(Settings(database_url=url), FileSource(str(path)))


async def _export(url: str, path: Path) -> bytes:
    await run_export(Settings(database_url=url), str(path))
    return await asyncio.to_thread(path.read_bytes)


async def _assert_directory_served(client: httpx.AsyncClient, found: Directory) -> None:
    for kind in ("categories", "grids", "packages"):
        source: list[dict[str, Any]] = getattr(found, kind)
        served = {record["id"]: record for record in await every(client, f"/api/v4/{kind}/")}
        assert sorted(served) == sorted(record["id"] for record in source), kind
        for record in source:
            assert_served_as_given(served[record["id"]], record)
            if kind == "packages":
                # The original's keys, in its order, come first.
                assert list(served[record["id"]])[: len(record)] == list(record)


async def _assert_tables_served(client: httpx.AsyncClient, found: Directory) -> None:
    cells = {(cell["feature"], cell["package"]): cell["text"] for cell in found.elements}
    for grid in found.grids:
        features = (await client.get(f"/api/v4/grids/{grid['id']}/features/")).json()
        source = [feature for feature in found.features if feature["grid"] == grid["id"]]
        assert [feature["id"] for feature in features] == sorted(f["id"] for f in source)
        by_id = {feature["id"]: feature for feature in features}
        for feature in source:
            without_grid = {key: value for key, value in feature.items() if key != "grid"}
            assert_served_as_given(by_id[feature["id"]], without_grid)
        table = (await client.get(f"/api/v4/grids/{grid['id']}/table/")).json()
        columns = [package["id"] for package in table["packages"]]
        for row in table["features"]:
            expected = [cells.get((row["id"], package_id)) for package_id in columns]
            assert row["elements"] == expected, row["id"]


@settings(PROFILE)
@given(found=directories(categories=4, grids=4, packages=10))
async def test_the_originals_domain_imports_serves_and_round_trips_unchanged(
    databases: Databases, found: Directory
) -> None:
    first, second = await databases.fresh(), await databases.fresh()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        tables = folder / "tables.json"
        document = json.dumps(found.table_document(), ensure_ascii=False)
        await asyncio.to_thread(tables.write_text, document, encoding="utf-8")

        _clean(await _import_api(first, found))
        _clean(await _import_file(first, tables))  # features and cells: a packages-api's
        async with api_client(first) as client:
            await _assert_directory_served(client, found)
            await _assert_tables_served(client, found)

        exported = await _export(first, folder / "first.json")
        _clean(await _import_file(second, folder / "first.json"))
        assert await _export(second, folder / "second.json") == exported
        again = await _import_file(first, folder / "first.json")
        _clean(again)
        assert {(c.created, c.updated) for c in again.summary.counts.values()} == {(0, 0)}


async def test_thousands_of_records_of_the_originals_domain_import_and_are_served_key_for_key(
    databases: Databases,
) -> None:
    found = directory(
        RandomDraw(random.Random(15)), categories=40, grids=150, packages=3000, tables=False
    )
    url = await databases.fresh()

    result = await _import_api(url, found)

    _clean(result)
    counts = result.summary.counts
    assert (counts["packages"].created, counts["categories"].created) == (3000, 40)
    memberships = sum(len(grid["packages"]) for grid in found.grids)
    assert counts["memberships"].created == memberships
    async with api_client(url) as client:
        await _assert_directory_served(client, found)
