"""Migration b1e5f7a9c3d2 on a filled database, both dialects: every existing package's
stored facts (commits_last_year, last_activity, standing, package_versions) are computed by
the rule writes use, the triggers are untouched, and downgrading drops them all."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest

from app.config import Settings
from app.migrate import downgrade, upgrade
from tests.conftest import Databases
from tests.test_migration_original_domain import STAMP, Statement, _execute, _trigger_names

BEFORE = "c4f8a2e6b9d1"
REVISION = "b1e5f7a9c3d2"


def _package(package_id: int, **values: Any) -> Statement:
    row = {
        "id": package_id,
        "slug": f"p{package_id}",
        "stamp": STAMP,
        "classifiers": json.dumps(values.get("classifiers", [])),
        "requires": values.get("requires"),
        "weeks": json.dumps(values.get("weeks", [])),
        "commit": values.get("commit"),
        "release": values.get("release"),
        "deprecated": values.get("deprecated"),
        "archived": values.get("archived"),
        "by": values.get("by"),
    }
    return (
        "INSERT INTO packages (id, title, slug, category_id, repo_host, repo_description,"
        " repo_watchers, repo_forks, participants, commits_over_52, pypi_url, documentation_url,"
        " pypi_classifiers, pypi_requires_python, last_updated, pypi_last_release,"
        " date_deprecated, date_repo_archived, deprecated_by_id, score, refresh_error,"
        " refresh_failures, created, modified)"
        " VALUES (:id, :slug, :slug, 1, '', '', 0, 0, '[]', :weeks, '', '', :classifiers,"
        " :requires, :commit, :release, :deprecated, :archived, :by, 0, '', 0, :stamp, :stamp)",
        row,
    )


def _instant(value: Any) -> dt.datetime | None:
    """A timestamp as either dialect returns it (SQLite: text, naive UTC)."""
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def test_upgrade_computes_every_packages_facts(databases: Databases) -> None:
    url = await databases.empty()
    settings = Settings(database_url=url)
    await asyncio.to_thread(upgrade, settings, BEFORE)
    triggers = await _trigger_names(url)
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    new = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    await _execute(
        url,
        (
            "INSERT INTO categories (id, title, slug, description, title_plural, show_pypi,"
            " created, modified) VALUES (1, 'Apps', 'apps', '', '', true, :stamp, :stamp)",
            {"stamp": STAMP},
        ),
        _package(
            1,
            classifiers=[
                "Framework :: Django :: 5.2",
                "Programming Language :: Python :: 3.13",
            ],
            weeks=[1] * 52,
            commit=old,
            release=new,
        ),
        _package(2, requires=">=3.28", deprecated=old),
        _package(3, archived=old, by=None, commit=old),
        _package(4, by=1),
        _package(5),
    )

    await asyncio.to_thread(upgrade, settings, REVISION)

    rows = await _execute(
        url,
        "SELECT id, commits_last_year, last_activity, standing, pypi_status"
        " FROM packages ORDER BY id",
    )
    assert [(r[0], r[1], _instant(r[2]), r[3], r[4]) for r in rows] == [
        (1, 52, new, "", None),
        (2, None, None, "deprecated", None),
        (3, None, old, "archived", None),
        (4, None, None, "deprecated", None),  # replaced by package 1
        (5, None, None, "", None),
    ]
    versions = await _execute(
        url, "SELECT package_id, kind, version FROM package_versions ORDER BY 1, 2, 3"
    )
    assert [tuple(row) for row in versions] == [
        (1, "django", "5.2"),
        (1, "python", "3.13"),
        (1, "python_any", "3.13"),
        (2, "python_any", "3.28"),
        (2, "python_any", "3.29"),
    ]
    assert await _trigger_names(url) == triggers

    await asyncio.to_thread(downgrade, settings, BEFORE)
    for column in ("standing", "last_activity", "commits_last_year", "pypi_status"):
        with pytest.raises(Exception, match=column):
            await _execute(url, f"SELECT {column} FROM packages")  # noqa: S608 (constants)
    with pytest.raises(Exception, match="package_versions"):
        await _execute(url, "SELECT * FROM package_versions")
    assert len(await _execute(url, "SELECT id FROM packages")) == 5
