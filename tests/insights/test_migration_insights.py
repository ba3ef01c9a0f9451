"""Migration e8b2d4f6a1c9 on a filled database, both dialects: every package's pypi_name
is filled from the pypi_url it already has (as the original spells them), the triggers
are untouched, and downgrading drops both columns."""

from __future__ import annotations

import asyncio

import pytest

from app.config import Settings
from app.migrate import downgrade, upgrade
from tests.conftest import Databases
from tests.test_migration_original_domain import STAMP, Statement, _execute, _trigger_names

BEFORE = "c3a7e5d91f42"
REVISION = "e8b2d4f6a1c9"


def _package(package_id: int, pypi_url: str) -> Statement:
    return (
        "INSERT INTO packages (id, title, slug, category_id, repo_host, repo_description,"
        " repo_watchers, repo_forks, participants, commits_over_52, pypi_url, documentation_url,"
        " pypi_classifiers, score, refresh_error, refresh_failures, created, modified)"
        " VALUES (:id, :slug, :slug, 1, '', '', 0, 0, '[]', '[]', :pypi, '', '[]', 0, '', 0,"
        " :stamp, :stamp)",
        {"id": package_id, "slug": f"p{package_id}", "pypi": pypi_url, "stamp": STAMP},
    )


async def test_upgrade_fills_pypi_name_from_pypi_url(databases: Databases) -> None:
    url = await databases.empty()
    settings = Settings(database_url=url)
    await asyncio.to_thread(upgrade, settings, BEFORE)
    triggers = await _trigger_names(url)
    await _execute(
        url,
        (
            "INSERT INTO categories (id, title, slug, description, title_plural, show_pypi,"
            " created, modified) VALUES (1, 'Apps', 'apps', '', '', true, :stamp, :stamp)",
            {"stamp": STAMP},
        ),
        _package(1, "http://pypi.python.org/pypi/Django_Shop"),
        _package(2, "https://pypi.org/project/django-debug-toolbar/"),
        _package(3, ""),
        _package(4, "https://example.org/not/pypi"),
    )

    await asyncio.to_thread(upgrade, settings, REVISION)

    rows = await _execute(url, "SELECT id, pypi_name, pypi_last_release FROM packages ORDER BY id")
    assert [tuple(row) for row in rows] == [
        (1, "django-shop", None),
        (2, "django-debug-toolbar", None),
        (3, None, None),
        (4, None, None),
    ]
    assert await _trigger_names(url) == triggers

    await asyncio.to_thread(downgrade, settings, BEFORE)
    for column in ("pypi_name", "pypi_last_release"):
        with pytest.raises(Exception, match=column):
            await _execute(url, f"SELECT {column} FROM packages")  # noqa: S608 (constants)
    assert [tuple(r) for r in await _execute(url, "SELECT id FROM packages ORDER BY id")] == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]
