"""Record what the API answers, byte for byte, to compare two versions of the service.

    uv run python scripts/record-api.py answers.json

Loads the demo directory (`packages-api demo`) into a new SQLite file, pins every
timestamp to one instant (so two runs differ only where the code does), then sends a fixed
set of requests (lists, details, pages, filters, orderings, grid tables, search, the root,
errors) through the app in-process and writes each answer: status, headers (but the
per-request id and the timing) and body. Run it on two commits and `diff` the files:
refactors must leave it unchanged.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

PINNED = "2026-01-01 00:00:00.000000"
VOLATILE_HEADERS = {"x-request-id", "server-timing", "date"}
PATHS = [
    "/api/v4/",
    "/api/v4/packages/",
    "/api/v4/packages/?limit=5&offset=10",
    "/api/v4/packages/?limit=3&offset=44",
    "/api/v4/packages/?limit=0",
    "/api/v4/packages/?offset=-1",
    "/api/v4/packages/?category=apps&ordering=-repo_watchers&limit=5",
    "/api/v4/packages/?ordering=title&limit=5",
    "/api/v4/packages/?cursor=&limit=5",
    "/api/v4/packages/1/",
    "/api/v4/packages/django-watson/",
    "/api/v4/packages/999999/",
    "/api/v4/packages/no-such-package/",
    "/api/v4/categories/",
    "/api/v4/categories/1/",
    "/api/v4/categories/apps/",
    "/api/v4/grids/",
    "/api/v4/grids/api-frameworks/",
    "/api/v4/grids/api-frameworks/packages/",
    "/api/v4/grids/api-frameworks/table/",
    "/api/v4/grids/no-such-grid/",
    "/api/v4/search/?q=django",
    "/api/v4/search/?q=rest+api&limit=3",
    "/api/v4/search/",
    "/api/v4/packages",
    "/healthz",
    "/openapi.json",
]


def pin_timestamps(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            columns = [row[1] for row in connection.execute(f"PRAGMA table_info('{table}')")]
            pinned = [c for c in columns if c in {"created", "modified", "added"}]
            if pinned:
                assignments = ", ".join(f"{column} = ?" for column in pinned)
                # Names read from the database's own catalogue, not from input.
                statement = f"UPDATE {table} SET {assignments}"  # noqa: S608
                connection.execute(statement, [PINNED] * len(pinned))


async def record(url: str) -> list[dict[str, object]]:
    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(database_url=url))
    answers: list[dict[str, object]] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        for path in PATHS:
            response = await client.get(path)
            answers.append(
                {
                    "request": f"GET {path}",
                    "status": response.status_code,
                    "headers": sorted(
                        [k, v] for k, v in response.headers.items() if k not in VOLATILE_HEADERS
                    ),
                    "body": response.content.decode("utf-8", "replace"),
                }
            )
    return answers


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "answers.json")
    with tempfile.TemporaryDirectory() as directory:
        database = Path(directory) / "directory.db"
        url = f"sqlite+aiosqlite:///{database}"
        environment = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "warning"}
        # `packages-api demo`, by its entry point, with this interpreter.
        subprocess.run(
            [sys.executable, "-c", "from app.cli import main; main()", "demo"],
            env=environment,
            check=True,
            capture_output=True,
        )
        pin_timestamps(database)
        os.environ.update({"DATABASE_URL": url, "LOG_LEVEL": "warning", "REFRESH_ENABLED": "false"})
        answers = asyncio.run(record(url))
    target.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(answers)} answers recorded in {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
