"""Issue 18's filters and orderings are index ranges: the plan of the very statement the
service sends for a page reads an index in order, with no sort of the table, on both
dialects (migration b1e5f7a9c3d2), by offset and by cursor."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Package
from app.repositories.facts import write_facts
from tests.conftest import bound_sessionmaker
from tests.test_cursor_pages import COUNT, PACKAGES, _populate
from tests.test_list_plans import _drop_competitors_of_category_index, _page_statements, _plan

DAY0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


async def _with_facts(connection: AsyncConnection) -> None:
    """test_cursor_pages' 37 packages, with every status, versions, releases and commits
    spread over them, and their facts written as every writer writes them."""
    await _populate(connection)
    async with bound_sessionmaker(connection)() as session:
        for package in await session.scalars(select(Package)):
            n = package.id
            if n % 5 == 0:
                package.date_deprecated = DAY0
            if n % 7 == 0:
                package.date_repo_archived = DAY0
            if n % 3 != 0:
                package.pypi_classifiers = [
                    "Framework :: Django :: 5.2",
                    "Programming Language :: Python :: 3.13",
                ]
            if n % 2 == 0:
                package.commits_over_52 = [n % 4] * 52
            if n % 4 != 0:
                package.pypi_last_release = dt.datetime.now(dt.UTC) - dt.timedelta(days=40 * n)
        await write_facts(session, range(1, COUNT + 1))
        await session.commit()


CASES = [
    # (query, an index the page must read)
    ("status=deprecated", "ix_packages_standing_id"),
    ("status=archived,deprecated", None),  # PostgreSQL walks id; SQLite: see below
    ("status=active", "ix_packages_standing_id"),  # standing '', last_activity tested
    ("status=unknown", None),  # (standing, id), or (last_activity, standing) = (NULL, "")
    ("status=stale,deprecated", None),  # walks id, testing each row (as unfiltered)
    ("django=5.2", "package_versions"),
    ("python=3.13", "package_versions"),
    ("ordering=last_release", "ix_packages_pypi_last_release_id"),
    ("ordering=-last_release", "ix_packages_pypi_last_release_id"),
    ("ordering=commits_last_year", "ix_packages_commits_last_year_id"),
    ("ordering=-commits_last_year", "ix_packages_commits_last_year_id"),
    ("category=apps&ordering=-last_release", "ix_packages_category_id_pypi_last_release_id"),
    ("category=apps&ordering=commits_last_year", "ix_packages_category_id_commits_last_year_id"),
]


@pytest.mark.parametrize(("query", "index"), CASES)
async def test_a_filtered_or_ordered_page_reads_an_index_without_sorting(
    client: httpx.AsyncClient, connection: AsyncConnection, query: str, index: str | None
) -> None:
    await _with_facts(connection)
    if index is not None and "category=" in query:
        field = index.removeprefix("ix_packages_category_id_").removesuffix("_id")
        await _drop_competitors_of_category_index(connection, field)
    first = await client.get(f"{PACKAGES}?cursor=&{query}&limit=2")
    assert first.status_code == 200, first.text
    assert first.json()["count"] > 2, "a page past the first is planned too"
    urls = [f"{PACKAGES}?{query}&limit=2", f"{PACKAGES}?{query}&limit=2&offset=2"]
    if first.json()["next"]:
        urls.append(first.json()["next"].removeprefix("http://testserver"))
    for url in urls:
        for statement, parameters in await _page_statements(client, connection, url):
            plan = await _plan(connection, statement, parameters)
            if index is not None:
                assert index in plan, plan
            if "Sort" in plan:
                # Several statuses with a stored standing are an IN list of (standing, id):
                # SQLite sorts the rows the lists find (the archived and deprecated ones, a
                # small part of the directory), never the table. PostgreSQL walks id.
                assert connection.dialect.name == "sqlite" and "," in query, plan
                assert "ix_packages_standing_id (standing=?" in plan, plan
