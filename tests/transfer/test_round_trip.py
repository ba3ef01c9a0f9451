"""Export and import, end to end: a live packages-api as a source, and the export round trip."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import Databases
from tests.test_cli import serving
from tests.transfer.helpers import export_bytes, run, snapshot, summary_rows


async def _enrich(base_url: str, token: str) -> None:
    """What only a packages-api has: a comparison table, a deprecation, PyPI-less extras."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, trust_env=False) as client:
        feature = await client.post(
            "/api/v4/grids/ecommerce/features/",
            json={"title": "Multi-currency", "description": "Prices in several currencies"},
        )
        assert feature.status_code == 201, feature.text
        cell = await client.put(
            f"/api/v4/grids/ecommerce/features/{feature.json()['id']}/elements/631/",
            json={"text": "Yes, via plugins"},
        )
        assert cell.status_code == 201, cell.text
        empty = await client.post("/api/v4/grids/ecommerce/features/", json={"title": "Tax rules"})
        assert empty.status_code == 201, empty.text
        deprecated = await client.patch(
            "/api/v4/packages/1641/",
            json={"deprecated_by": 631, "date_deprecated": "2024-01-02T03:04:05Z"},
        )
        assert deprecated.status_code == 200, deprecated.text
        added = await client.post("/api/v4/grids/shops/packages/", json={"package": 1641})
        assert added.status_code == 201, added.text


async def test_a_live_packages_api_is_a_source_and_nothing_is_lost(
    databases: Databases, fake_root: str, tmp_path: Path
) -> None:
    source = await databases.fresh()
    assert (await run(source, "import", fake_root, "-q", cwd=tmp_path)).code == 0
    token = (await run(source, "tokens", "create", "ci", cwd=tmp_path)).stdout.strip()
    target = await databases.fresh()

    async with serving(source, tmp_path) as server:
        await _enrich(server.base_url, token)
        result = await run(target, "import", f"{server.base_url}/api/v4/", "-q", cwd=tmp_path)
        again = await run(target, "import", f"{server.base_url}/api/v4/", "-q", cwd=tmp_path)

    assert result.code == 0, result.stdout + result.stderr
    assert summary_rows(result.stdout) == {
        "categories": (1, 0, 0, 0),
        "grids": (4, 0, 0, 0),
        "packages": (2, 0, 0, 0),
        "memberships": (5, 0, 0, 0),
        "features": (2, 0, 0, 0),
        "elements": (1, 0, 0, 0),
    }
    assert again.code == 0, again.stderr
    assert {counts[:2] for counts in summary_rows(again.stdout).values()} == {(0, 0)}, (
        again.stdout + again.stderr + result.stderr
    )
    exported = await export_bytes(source, tmp_path, "source.json")
    assert await export_bytes(target, tmp_path, "target.json") == exported
    document = json.loads(exported)
    assert [e["text"] for e in document["elements"]] == ["Yes, via plugins"]
    assert [p["deprecated_by"] for p in document["packages"]] == [None, 631]


async def test_export_import_export_is_byte_identical(
    databases: Databases, fake_root: str, tmp_path: Path
) -> None:
    source = await databases.fresh()
    assert (await run(source, "import", fake_root, "-q", cwd=tmp_path)).code == 0
    token = (await run(source, "tokens", "create", "ci", cwd=tmp_path)).stdout.strip()
    async with serving(source, tmp_path) as server:
        await _enrich(server.base_url, token)
    first = await export_bytes(source, tmp_path, "first.json")
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
