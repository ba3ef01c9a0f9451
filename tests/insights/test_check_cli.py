"""`packages-api check requirements.txt`, run as a CI pipeline runs it: the installed
script in a subprocess, against the local database and against a served one (`--api`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import create_engine
from app.insights.names import stored_pypi_name
from app.models import Category, Package
from tests.conftest import Databases
from tests.test_cli import packages_api, serving

RECENT = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
REQUIREMENTS = """\
# the project's requirements
-r base.txt
django-shop>=1.0  # the shop
Old_Thing==0.9
"""


async def directory(url: str) -> None:
    """Two packages as the refresher leaves them: one fit for Django 5.2, one archived."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            await _add(session)
    finally:
        await engine.dispose()


async def _add(session: AsyncSession) -> None:
    session.add(Category(id=1, title="Apps", slug="apps"))
    await session.flush()
    for number, (pypi, classifiers, archived) in enumerate(
        [
            ("django-shop", ["Framework :: Django :: 5.2"], None),
            ("old-thing", ["Framework :: Django :: 5.2"], RECENT),
        ],
        start=1,
    ):
        pypi_url = f"https://pypi.org/project/{pypi}/"
        session.add(
            Package(
                id=number,
                title=pypi,
                slug=pypi,
                category_id=1,
                repo_url=f"https://github.com/o/{pypi}",
                repo_host="github",
                pypi_url=pypi_url,
                pypi_name=stored_pypi_name(pypi_url),
                pypi_version="1.0",
                pypi_classifiers=classifiers,
                last_updated=RECENT,
                date_repo_archived=archived,
            )
        )


async def test_an_archived_requirement_fails_the_check(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    await directory(url)
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)

    result = await packages_api(
        url, "check", "requirements.txt", "--django", "5.2", cwd=tmp_path, COLUMNS="200"
    )

    assert result.code == 1, result.stderr
    lines = result.stdout.splitlines()
    shop = next(line for line in lines if "django-shop>=1.0" in line)
    old = next(line for line in lines if "Old_Thing==0.9" in line)
    assert "active" in shop and "yes" in shop
    assert "archived" in old and "asks for ==0.9" in old  # reasons, one per line
    assert "repository archived on GitHub" in result.stdout
    assert "skipped line 2: -r base.txt" in result.stdout
    assert "1 of 2 requirements deprecated, archived or incompatible" in result.stdout


async def test_a_fitting_file_passes_and_an_incompatible_one_fails(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    await directory(url)
    (tmp_path / "ok.txt").write_text("django-shop\nnot-in-the-directory\n")

    passing = await packages_api(url, "check", "ok.txt", "--django", "5.2", cwd=tmp_path)
    failing = await packages_api(url, "check", "ok.txt", "--django", "4.2", cwd=tmp_path)

    assert passing.code == 0, passing.stdout + passing.stderr
    assert "0 of 2" in passing.stdout
    assert failing.code == 1, failing.stdout + failing.stderr


async def test_bad_lines_and_versions_are_named_with_exit_2(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.fresh()
    (tmp_path / "bad.txt").write_text("django\nthis is not a requirement\n")

    bad_line = await packages_api(url, "check", "bad.txt", "--django", "5.2", cwd=tmp_path)
    bad_version = await packages_api(url, "check", "bad.txt", "--django", "five", cwd=tmp_path)
    missing = await packages_api(url, "check", "nope.txt", cwd=tmp_path)

    assert bad_line.code == 2 and "requirements: line 2:" in bad_line.stderr
    assert bad_version.code == 2 and "major.minor" in bad_version.stderr
    assert missing.code == 2 and "nope.txt" in missing.stderr


async def test_the_same_answer_from_a_remote_service(databases: Databases, tmp_path: Path) -> None:
    url = await databases.fresh()
    await directory(url)
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    empty = await databases.fresh()  # the local database knows nothing

    async with serving(url, tmp_path) as server:
        remote = await packages_api(
            empty,
            "check",
            "requirements.txt",
            "--django",
            "5.2",
            "--api",
            server.base_url,
            cwd=tmp_path,
            COLUMNS="200",
            NO_PROXY="127.0.0.1,localhost",
        )
        refused = await packages_api(
            empty,
            "check",
            "requirements.txt",
            "--python",
            "3.x",
            "--api",
            server.base_url,
            cwd=tmp_path,
            NO_PROXY="127.0.0.1,localhost",
        )

    assert remote.code == 1, remote.stdout + remote.stderr
    assert "repository archived on GitHub" in remote.stdout
    assert "1 of 2 requirements" in remote.stdout
    assert refused.code == 2 and "major.minor" in refused.stderr
