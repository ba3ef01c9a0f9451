"""The contract: our package resource serves djangopackages.org's records key for key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.factories import LINK_KEYS, load_seeds


def _same_instant(ours: Any, theirs: Any) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    return dt.datetime.fromisoformat(ours) == dt.datetime.fromisoformat(theirs)


async def test_served_package_equals_the_seed_record_key_for_key(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    records = await load_seeds(connection)
    for record in records:
        response = await client.get(f"/api/v4/packages/{record['id']}/")
        assert response.status_code == 200
        served = response.json()
        # The original's keys come first, in the original's order; ours only after them.
        assert list(served)[: len(record)] == list(record)
        for key, expected in record.items():
            value = served[key]
            assert type(value) is type(expected), key
            if key in LINK_KEYS:
                continue
            if key in {"last_updated", "last_fetched", "created", "modified"}:
                assert _same_instant(value, expected), key
            else:
                assert value == expected, key


async def test_seed_hyperlinks_point_at_our_host_with_the_same_ids(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    records = await load_seeds(connection)
    for record in records:
        served = (await client.get(f"/api/v4/packages/{record['slug']}/")).json()
        ours = "http://testserver/api/v4/"
        theirs = "https://djangopackages.org/api/v4/"
        assert served["category"] == record["category"].replace(theirs, ours)
        assert sorted(served["grids"]) == sorted(g.replace(theirs, ours) for g in record["grids"])
        for link in [served["category"], *served["grids"]]:
            assert (await client.get(link)).status_code == 200
