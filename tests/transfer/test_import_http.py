"""`packages-api import URL` against a fake djangopackages.org: what a user moving over sees."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.conftest import Databases
from tests.factories import seed_records
from tests.transfer.fake_api import FakeApi, Fault
from tests.transfer.helpers import (
    api_client,
    api_get,
    api_write,
    run,
    snapshot,
    summary_rows,
    write_token,
)

LINK_KEYS = {"category", "grids"}


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _same_as_seed(served: dict[str, Any], seed: dict[str, Any]) -> None:
    """Key for key, in the original's order; timestamps as instants, links by path."""
    assert list(served)[: len(seed)] == list(seed)
    for key, expected in seed.items():
        if key in LINK_KEYS:
            continue
        value = served[key]
        if key in {"last_updated", "last_fetched", "created", "modified"}:
            assert _instant(value) == _instant(expected), key
        else:
            assert value == expected, key
    assert served["category"] == seed["category"].replace(
        "https://djangopackages.org", "http://testserver"
    )
    assert served["grids"] == sorted(
        (link.replace("https://djangopackages.org", "http://testserver") for link in seed["grids"]),
        key=lambda link: int(link.rstrip("/").rsplit("/", 1)[1]),
    )


async def test_importing_djangopackages_serves_its_packages_as_it_did(
    databases: Databases, fake_root: str, fake_api: FakeApi, tmp_path: Path
) -> None:
    url = await databases.fresh()

    result = await run(url, "import", fake_root, cwd=tmp_path)

    assert result.code == 0, result.stderr
    assert summary_rows(result.stdout) == {
        "categories": (1, 0, 0, 0),
        "grids": (4, 0, 0, 0),
        "packages": (2, 0, 0, 0),
        "memberships": (4, 0, 0, 0),
        "features": (0, 0, 0, 0),
        "elements": (0, 0, 0, 0),
    }
    assert result.stderr.strip() == ""
    async with api_client(url) as client:
        for seed in seed_records():
            response = await client.get(f"/api/v4/packages/{seed['id']}/")
            assert response.status_code == 200, response.text
            _same_as_seed(response.json(), seed)
        category = (await client.get("/api/v4/categories/2/")).json()
        grid = (await client.get("/api/v4/grids/41/")).json()
    assert (category["slug"], category["title_plural"]) == ("apps", "Apps")
    assert _instant(category["created"]) == _instant("2010-08-14T22:47:52.448000-04:00")
    assert grid["packages"] == ["http://testserver/api/v4/packages/631/"]
    assert grid["header"] is True
    # Several pages per list (one record each), and every request said who we are.
    listings = [r for r in fake_api.requests if r.url.path != "/api/v4/"]
    assert len(listings) == 1 + 4 + 2
    assert {r.headers["user-agent"].split("/")[0] for r in fake_api.requests} == {"packages-api"}


async def test_a_500_halfway_with_atomic_leaves_the_database_unchanged(
    databases: Databases, fake_root: str, fake_api: FakeApi, tmp_path: Path
) -> None:
    url = await databases.fresh()
    before = await snapshot(url)
    fake_api.faults[("packages", 1)] = Fault("500")

    result = await run(url, "import", fake_root, "--atomic", "--retries", "1", cwd=tmp_path)

    assert result.code == 1
    failing = f"{fake_root}packages/?limit=1&offset=1"
    assert f"retrying GET {failing} (HTTP 500) in " in result.stderr
    assert f"GET {failing}: HTTP 500 after 2 attempts" in result.stderr
    assert "rolled back (--atomic)" in result.stderr
    assert "nothing was changed" in result.stderr
    assert fake_api.faults[("packages", 1)].hits == 2
    assert await snapshot(url) == before


async def test_a_malformed_page_without_atomic_says_what_was_loaded(
    databases: Databases, fake_root: str, fake_api: FakeApi, tmp_path: Path
) -> None:
    url = await databases.fresh()
    fake_api.faults[("packages", 1)] = Fault("malformed")

    result = await run(url, "import", fake_root, "-q", cwd=tmp_path)

    assert result.code == 1
    assert "the answer is not JSON" in result.stderr
    assert "stopped there" in result.stderr
    counts = summary_rows(result.stdout)
    assert counts["categories"] == (1, 0, 0, 0)
    assert counts["grids"] == (4, 0, 0, 0)
    # The first page (package 1641, the newest first) was loaded, whole; 631 was not.
    assert counts["packages"] == (1, 0, 0, 0)
    assert (await api_get(url, "/api/v4/packages/1641/")).status_code == 200
    assert (await api_get(url, "/api/v4/packages/631/")).status_code == 404
    tables = await snapshot(url)
    assert len(tables["grid_packages"]) == 2


async def test_a_slug_taken_here_is_refused_with_its_reason_and_the_rest_is_loaded(
    databases: Databases, fake_root: str, fake_api: FakeApi, tmp_path: Path
) -> None:
    url = await databases.fresh()
    # Someone here already made a package "shop-fork"; the source has one too, another id.
    token = await write_token(url)
    category = await api_write(url, token, "POST", "/api/v4/categories/", {"title": "Local"})
    local = await api_write(
        url, token, "POST", "/api/v4/packages/", {"title": "shop-fork", "category": "local"}
    )
    assert (category.status_code, local.status_code) == (201, 201), local.text
    twin = dict(next(p for p in fake_api.data["packages"] if p["id"] == 631))
    fake_api.data["packages"].append(
        {**twin, "id": 7, "slug": "shop-fork", "repo_url": "https://github.com/Awesto/django-shop/"}
    )

    result = await run(url, "import", fake_root, "-q", cwd=tmp_path)

    assert result.code == 2, result.stderr
    assert summary_rows(result.stdout)["packages"] == (2, 0, 0, 1)
    local_id = local.json()["id"]
    assert (
        f"packages 7 (shop-fork): slug 'shop-fork' belongs to package {local_id} here"
        in result.stdout
    )
    # Its grid memberships go with it; every other one is loaded.
    assert "memberships grid 41 / package 7: package 7 is neither in the source nor here" in (
        result.stdout
    )
    assert summary_rows(result.stdout)["memberships"] == (4, 0, 0, 2)  # grids 41 and 287
    assert (await api_get(url, "/api/v4/packages/7/")).status_code == 404
    assert (await api_get(url, "/api/v4/packages/django-shop/")).status_code == 200
