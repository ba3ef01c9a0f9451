"""Export and import, end to end: a live packages-api as a source, and the export round trip."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.services.tokens import TokenService
from app.transfer.jobs import run_export, run_import
from app.transfer.source_http import HttpSource
from tests.conftest import Databases
from tests.test_cli import serving
from tests.transfer.helpers import api_client, bearer, export_bytes, run, snapshot, summary_rows


async def _directory(url: str, fake_root: str) -> str:
    """The fake djangopackages imported, then what only a packages-api has: a comparison
    table, a deprecation, one more membership. Returns a write token."""
    settings = Settings(database_url=url)
    assert (await run_import(settings, HttpSource(fake_root))).committed
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            _, token = await TokenService(session).create("ci", "write")
    finally:
        await engine.dispose()
    async with api_client(url) as client:
        feature = await client.post(
            "/api/v4/grids/ecommerce/features/",
            json={"title": "Multi-currency", "description": "Prices in several currencies"},
            headers=bearer(token),
        )
        assert feature.status_code == 201, feature.text
        writes = [
            ("PUT", f"/api/v4/grids/ecommerce/features/{feature.json()['id']}/elements/631/",
             {"text": "Yes, via plugins"}),
            ("POST", "/api/v4/grids/ecommerce/features/", {"title": "Tax rules"}),
            ("PATCH", "/api/v4/packages/1641/",
             {"deprecated_by": 631, "date_deprecated": "2024-01-02T03:04:05Z"}),
            ("POST", "/api/v4/grids/shops/packages/", {"package": 1641}),
        ]  # fmt: skip
        for method, path, body in writes:
            response = await client.request(method, path, json=body, headers=bearer(token))
            assert response.status_code in {200, 201}, response.text
    return token


async def _export(url: str, path: Path) -> bytes:
    await run_export(Settings(database_url=url), str(path))
    return await asyncio.to_thread(path.read_bytes)


async def test_a_live_packages_api_is_a_source_and_nothing_is_lost(
    databases: Databases, fake_root: str, tmp_path: Path
) -> None:
    source = await databases.fresh()
    await _directory(source, fake_root)
    target = await databases.fresh()

    async with serving(source, tmp_path) as server:
        root = f"{server.base_url}/api/v4/"
        result = await run(target, "import", root, "-q", cwd=tmp_path)
        again = await run_import(Settings(database_url=target), HttpSource(root))

    assert result.code == 0, result.stdout + result.stderr
    assert summary_rows(result.stdout) == {
        "categories": (1, 0, 0, 0),
        "grids": (4, 0, 0, 0),
        "packages": (2, 0, 0, 0),
        "memberships": (5, 0, 0, 0),
        "features": (2, 0, 0, 0),
        "elements": (1, 0, 0, 0),
    }
    assert again.committed and again.error is None
    assert {(c.created, c.updated) for c in again.summary.counts.values()} == {(0, 0)}
    exported = await _export(source, tmp_path / "source.json")
    assert await _export(target, tmp_path / "target.json") == exported
    document = json.loads(exported)
    assert [e["text"] for e in document["elements"]] == ["Yes, via plugins"]
    assert [p["deprecated_by"] for p in document["packages"]] == [None, 631]


async def test_export_import_export_is_byte_identical(
    databases: Databases, fake_root: str, tmp_path: Path
) -> None:
    source = await databases.fresh()
    token = await _directory(source, fake_root)
    first = await _export(source, tmp_path / "first.json")
    empty = await databases.fresh()

    loaded = await run(empty, "import", str(tmp_path / "first.json"), "-q", cwd=tmp_path)

    assert loaded.code == 0, loaded.stdout + loaded.stderr
    assert await export_bytes(empty, tmp_path, "second.json") == first
    # Tokens are secrets: never exported, so never imported.
    assert (await snapshot(empty))["api_tokens"] == []
    assert b"api_tokens" not in first and token.encode() not in first
    # And from stdin, a second time: nothing changes.
    before = await snapshot(empty)
    again = await run(empty, "import", "-", "-q", cwd=tmp_path, stdin=first.decode())
    assert again.code == 0, again.stderr
    assert {counts[:2] for counts in summary_rows(again.stdout).values()} == {(0, 0)}
    assert await snapshot(empty) == before
