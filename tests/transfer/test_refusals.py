"""`packages-api import` as a user runs it: a record refused never takes another down, the
summary names each refused one (kind, id, reason), and the exit status says whether any was.
Against the fake djangopackages API and export files, on both databases."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from tests.conftest import Databases
from tests.transfer.domain import ORIGINAL, RandomDraw, directory
from tests.transfer.fake_api import FakeApi, serve_on_loopback
from tests.transfer.helpers import api_get, export_bytes, run, summary_rows

EXIT_REFUSED = 2


def _original(seed: int) -> FakeApi:
    """A fake djangopackages serving a small directory drawn from the original's domain."""
    found = directory(RandomDraw(random.Random(seed)), categories=3, grids=4, packages=12)
    return FakeApi(max_limit=5, data=found.api_data())


def _refused_lines(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    if "refused:" not in lines:
        return []
    start = lines.index("refused:") + 1
    # Then warnings, if any, and "committed" (on stderr when something was refused).
    end = next(
        (i for i, line in enumerate(lines) if i >= start and not line.startswith("  ")),
        len(lines),
    )
    return [line.strip() for line in lines[start:end]]


def _memberships(api: FakeApi) -> set[tuple[int, int]]:
    """The (grid, package) pairs the source serves, from either side."""
    pairs = set()
    for grid in api.data["grids"]:
        pairs |= {
            (grid["id"], int(link.rstrip("/").rsplit("/", 1)[1])) for link in grid["packages"]
        }
    return pairs


async def test_a_directory_the_original_allows_imports_whole_and_again_changes_nothing(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    api = _original(seed=1)
    packages = len(api.data["packages"])

    async with serve_on_loopback(api.app()) as base:
        first = await run(url, "import", f"{base}/api/v4/", "-q", cwd=tmp_path)
        second = await run(url, "import", f"{base}/api/v4/", "-q", cwd=tmp_path)

    assert first.code == 0, first.stdout + first.stderr
    counts = summary_rows(first.stdout)
    assert counts["packages"] == (packages, 0, 0, 0)
    assert counts["memberships"] == (len(_memberships(api)), 0, 0, 0)
    assert first.stdout.splitlines()[-1] == "committed"
    assert second.code == 0, second.stdout + second.stderr
    assert {row[:2] for row in summary_rows(second.stdout).values()} == {(0, 0)}
    assert summary_rows(second.stdout)["packages"] == (0, 0, packages, 0)


async def test_one_refused_record_takes_nothing_else_down(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    api = _original(seed=2)
    # Three records no database of the original's shape can hold, each in grids.
    too_long, with_nul = api.data["packages"][0], api.data["packages"][1]
    too_long["title"] = "x" * 101
    with_nul["repo_description"] = "before\x00after"
    bad_grid = api.data["grids"][0]
    bad_grid["slug"] = "not a slug"
    for grid in api.data["grids"][1:]:
        grid["packages"] = sorted(
            {*grid["packages"], f"{ORIGINAL}/api/v4/packages/{too_long['id']}/"}
        )
    carried = {
        pair
        for pair in _memberships(api)
        if pair[1] in {too_long["id"], with_nul["id"]} or pair[0] == bad_grid["id"]
    }

    async with serve_on_loopback(api.app()) as base:
        first = await run(url, "import", f"{base}/api/v4/", "-q", cwd=tmp_path)
        second = await run(url, "import", f"{base}/api/v4/", "-q", cwd=tmp_path)

    assert first.code == EXIT_REFUSED, first.stdout + first.stderr
    counts = summary_rows(first.stdout)
    assert counts["packages"] == (len(api.data["packages"]) - 2, 0, 0, 2)
    assert counts["grids"] == (len(api.data["grids"]) - 1, 0, 0, 1)
    # Every membership the refused records do not carry is in.
    listed = len(_memberships(api))
    assert counts["memberships"] == (listed - len(carried), 0, 0, len(carried))
    refused = _refused_lines(first.stdout)
    assert (
        f"packages {too_long['id']} ({too_long['slug']}): "
        "title: String should have at most 100 characters" in refused
    )
    assert (
        f"packages {with_nul['id']} ({with_nul['slug']}): "
        "repo_description: must not contain NUL characters (\\u0000)" in refused
    )
    assert any(line.startswith(f"grids {bad_grid['id']} (not a slug): slug: ") for line in refused)
    assert len(refused) == 3 + len(carried)
    assert f"committed; {3 + len(carried)} record(s) refused (see above)" in first.stderr
    for package in api.data["packages"][2:]:
        served = await api_get(url, f"/api/v4/packages/{package['id']}/")
        assert served.status_code == 200
    # The same source again: the same refusals, everything else unchanged.
    assert second.code == EXIT_REFUSED
    assert _refused_lines(second.stdout) == refused
    assert summary_rows(second.stdout)["packages"] == (0, 0, len(api.data["packages"]) - 2, 2)


async def test_an_export_file_imports_with_exit_0_and_a_refused_cell_with_exit_2(
    databases: Databases, tmp_path: Path
) -> None:
    source, target = await databases.fresh(), await databases.fresh()
    api = _original(seed=3)
    async with serve_on_loopback(api.app()) as base:
        assert (await run(source, "import", f"{base}/api/v4/", "-q", cwd=tmp_path)).code == 0
    exported = json.loads(await export_bytes(source, tmp_path, "directory.json"))
    feature: dict[str, Any] = {
        "id": 1,
        "grid": exported["grids"][0]["id"],
        "title": "Multi-currency",
        "created": "2020-01-01T00:00:00Z",
        "modified": "2020-01-01T00:00:00Z",
    }
    exported["features"] = [feature]
    # A cell for a package that is not in the feature's grid: refused, alone.
    outsider = next(
        p["id"]
        for p in exported["packages"]
        if (feature["grid"], p["id"])
        not in {(m["grid"], m["package"]) for m in exported["memberships"]}
    )
    exported["elements"] = [{"feature": 1, "package": outsider, "text": "Yes"}]
    with_cell = tmp_path / "with-cell.json"
    with_cell.write_text(json.dumps(exported), encoding="utf-8")

    clean = await run(target, "import", str(tmp_path / "directory.json"), "-q", cwd=tmp_path)
    refusing = await run(target, "import", str(with_cell), "-q", cwd=tmp_path)

    assert clean.code == 0, clean.stdout + clean.stderr
    assert refusing.code == EXIT_REFUSED, refusing.stdout + refusing.stderr
    assert _refused_lines(refusing.stdout) == [
        f"elements feature 1 / package {outsider}: package {outsider} is not in grid "
        f"{feature['grid']} here"
    ]
    assert summary_rows(refusing.stdout)["features"] == (1, 0, 0, 0)
