"""What `import` and `export` tell a user when something is wrong before any record moves:
one line that names the culprit (the file, the source or the database), and exit 1."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.test_cli import packages_api

UNREACHABLE_POSTGRES = "postgresql+asyncpg://packages:s3cret@127.0.0.1:1/packages"


async def test_export_blames_an_unreachable_database_not_the_file(tmp_path: Path) -> None:
    target = tmp_path / "export.json"

    result = await packages_api(
        UNREACHABLE_POSTGRES, "export", str(target), cwd=tmp_path, MIGRATE_ON_START="false"
    )

    assert result.code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: database postgresql+asyncpg://packages:***@127.0.0.1:1/packages")
    assert "cannot write" not in line and "s3cret" not in line
    # No half-written or temporary file left.
    assert not await asyncio.to_thread(lambda: list(tmp_path.iterdir()))


async def test_export_names_a_file_it_cannot_write(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'directory.db'}"
    target = tmp_path / "missing-directory" / "export.json"

    result = await packages_api(url, "export", str(target), cwd=tmp_path)

    assert result.code == 1
    [line] = result.stderr.splitlines()
    assert line == f"error: cannot write {target}: No such file or directory"


async def test_importing_a_missing_file_is_one_line_and_touches_no_database(
    tmp_path: Path,
) -> None:
    database = tmp_path / "directory.db"

    result = await packages_api(
        f"sqlite+aiosqlite:///{database}", "import", "nofile.json", cwd=tmp_path
    )

    assert result.code == 1
    assert result.stdout == ""  # no table of zeros
    [line] = result.stderr.splitlines()
    assert line == "error: cannot read nofile.json: No such file or directory"
    assert not database.exists()


async def test_importing_a_file_that_is_no_export_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "notes.json"
    source.write_text('{"packages": []}')

    result = await packages_api(
        f"sqlite+aiosqlite:///{tmp_path / 'directory.db'}", "import", str(source), cwd=tmp_path
    )

    assert result.code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: not an export")


async def test_an_unreachable_source_without_retries_is_one_line(tmp_path: Path) -> None:
    root = "http://127.0.0.1:1/api/v4/"

    result = await packages_api(
        f"sqlite+aiosqlite:///{tmp_path / 'directory.db'}",
        "import",
        "--retries",
        "0",
        root,
        cwd=tmp_path,
    )

    assert result.code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: GET {root}: ConnectError")
    assert line.endswith("after 1 attempt; nothing was imported")
    assert "continue" not in line


async def test_import_help_reads_in_whole_paragraphs(tmp_path: Path) -> None:
    result = await packages_api(
        "sqlite+aiosqlite:///unused.db", "import", "--help", cwd=tmp_path, COLUMNS="200"
    )

    assert result.code == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    # Wide enough for any paragraph: each is one line, none broken mid-sentence.
    upsert = "An upsert by id: a second run changes nothing."
    assert f"{upsert} Conflicts are refused, each with its reason." in lines
    assert "2  loaded, but some records were refused" in lines
    prose = lines[lines.index("Usage: packages-api import [OPTIONS] {source}") + 1 :]
    prose = prose[: prose.index("Exit status:")]
    assert all(line.endswith(".") for line in prose if line), prose
