"""Test data: the two djangopackages.org seed records, and quick builders through the API."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Category, Grid, GridPackage, Package
from app.repositories.sequences import advance_id_sequences
from tests.conftest import bound_sessionmaker

SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
LINK_KEYS = ("category", "grids")


def seed_records() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(SEEDS_DIR.glob("package-*.json"))]


def _id_of(link: str) -> int:
    return int(link.rstrip("/").rsplit("/", 1)[1])


async def load_seeds(connection: AsyncConnection) -> list[dict[str, Any]]:
    """Store the seed records as the importer would: same ids, values and timestamps."""
    records = seed_records()
    async with bound_sessionmaker(connection)() as session:
        category_ids = {_id_of(r["category"]) for r in records}
        grid_ids = {_id_of(link) for r in records for link in r["grids"]}
        session.add_all(
            Category(id=cid, title=f"Category {cid}", slug=f"category-{cid}")
            for cid in category_ids
        )
        session.add_all(Grid(id=gid, title=f"Grid {gid}", slug=f"grid-{gid}") for gid in grid_ids)
        await session.flush()
        for record in records:
            session.add(
                Package(
                    id=record["id"],
                    title=record["title"],
                    slug=record["slug"],
                    category_id=_id_of(record["category"]),
                    repo_url=record["repo_url"] or None,
                    repo_host="github",
                    repo_description=record["repo_description"],
                    repo_watchers=record["repo_watchers"],
                    repo_forks=record["repo_forks"],
                    participants=record["participants"],
                    commits_over_52=record["commits_over_52"],
                    last_updated=_instant(record["last_updated"]),
                    last_fetched=_instant(record["last_fetched"]),
                    pypi_url=record["pypi_url"],
                    pypi_version=record["pypi_version"],
                    documentation_url=record["documentation_url"],
                    created=_instant(record["created"]),
                    modified=_instant(record["modified"]),
                )
            )
            await session.flush()
            session.add_all(
                GridPackage(grid_id=_id_of(link), package_id=record["id"])
                for link in record["grids"]
            )
        await advance_id_sequences(session)
        await session.commit()
    return records


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


async def create_category(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"title": "Apps", **fields}
    response = await client.post("/api/v4/categories/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_package(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = await client.post("/api/v4/packages/", json=fields, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_grid(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"title": "Grid", **fields}
    response = await client.post("/api/v4/grids/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())
