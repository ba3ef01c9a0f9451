"""Two `serve` processes on one database, as two workers or two replicas: a write
acknowledged by one is never answered old by the other 100 ms later, on either dialect."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import Databases
from tests.test_cli import given_tokens, serving

# The bound: after a write is acknowledged, another process stops serving the old
# answer within this.
STALE_FOR_AT_MOST = 0.1
WRITES = 5


async def test_a_write_through_one_process_is_seen_by_the_other_within_100_ms(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    (token,) = await given_tokens(url, ("ci", "write"))
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        serving(url, tmp_path, REFRESH_ENABLED="false") as first,
        serving(url, tmp_path, REFRESH_ENABLED="false") as second,
        httpx.AsyncClient(base_url=first.base_url, trust_env=False) as writer,
        httpx.AsyncClient(base_url=second.base_url, trust_env=False) as reader,
    ):
        made = await writer.post("/api/v4/categories/", json={"title": "Apps"}, headers=headers)
        assert made.status_code == 201, made.text
        made = await writer.post(
            "/api/v4/packages/", json={"title": "Shared", "category": "apps"}, headers=headers
        )
        assert made.status_code == 201, made.text

        stale: list[str] = []
        for number in range(WRITES):
            # The reader holds the current answer in its cache...
            await reader.get("/api/v4/packages/shared/")
            held = await reader.get("/api/v4/packages/shared/")
            assert held.headers["x-cache"] == "hit", held.headers
            # ...the other process writes and acknowledges...
            title = f"Shared {number}"
            patched = await writer.patch(
                "/api/v4/packages/shared/", json={"title": title}, headers=headers
            )
            assert patched.status_code == 200, patched.text
            await asyncio.sleep(STALE_FOR_AT_MOST)
            # ...and 100 ms later the reader answers the new one.
            for path in ("/api/v4/packages/shared/", "/api/v4/packages/"):
                answer = await reader.get(path)
                body = answer.json()
                titles = (
                    [body["title"]] if "title" in body else [p["title"] for p in body["results"]]
                )
                if title not in titles:
                    stale.append(f"{path}: {titles} ({answer.headers['x-cache']})")
        assert stale == []
