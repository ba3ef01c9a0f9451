"""The floor to measure the service against: raw ASGI, an asyncpg pool, one SQL statement
per request, the same JSON as the service's package list page and package detail.

    BASELINE_DATABASE_URL=postgresql://... uv run uvicorn bench.baseline:app --port 8002

No framework, no ORM, no validation, no middleware, no ETag: what is left is the least
any Python server must do for these answers (parse the request, one round trip to the
database, encode JSON with absolute links). The pool holds as many connections as the
service's (BASELINE_POOL_SIZE, default 20: DB_POOL_SIZE 10 + DB_MAX_OVERFLOW 10).

    GET /api/v4/packages/[?limit=&offset=]  {count, next, previous, results}, newest first
    GET /api/v4/packages/?cursor=ID         the page after package ID (keyset, `next` keeps it)
    GET /api/v4/packages/{id or slug}/      one package
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import asyncpg
import orjson

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

PREFIX = "/api/v4/packages/"
PAGE_SIZE, MAX_PAGE_SIZE = 20, 100
# The package's columns in the resource's key order (category and grids are links).
FIELDS = (
    "p.id, p.title, p.slug, p.category_id, p.last_updated, p.last_fetched, p.repo_url, "
    "p.pypi_version, p.created, p.modified, p.repo_forks, p.repo_description, p.pypi_url, "
    "p.documentation_url, p.repo_watchers, p.commits_over_52, p.participants, p.repo_host, "
    "p.score, p.pypi_license, p.pypi_requires_python, p.pypi_classifiers, p.supports_python3, "
    "p.date_deprecated, p.date_repo_archived, p.deprecated_by_id, "
    "ARRAY(SELECT g.grid_id FROM grid_packages g WHERE g.package_id = p.id ORDER BY g.grid_id)"
    " AS grid_ids"
)
# Count and page in one statement; the LEFT JOIN keeps the count when the page is empty.
# The count is the service's: the trigger-kept row of table_counts when the schema has
# one, COUNT(*) otherwise.
LIST_SQL = """
SELECT c.total, page.* FROM (SELECT {count} AS total) c
LEFT JOIN LATERAL (
    SELECT {fields} FROM packages p WHERE p.id < $3 ORDER BY p.id DESC LIMIT $1 OFFSET $2
) page ON true
"""
KEPT_COUNT = "(SELECT row_count FROM table_counts WHERE table_name = 'packages')"
FULL_COUNT = "(SELECT count(*) FROM packages)"
BY_ID_SQL = f"SELECT {FIELDS} FROM packages p WHERE p.id = $1"  # noqa: S608
BY_SLUG_SQL = f"SELECT {FIELDS} FROM packages p WHERE p.slug = $1"  # noqa: S608
NO_CURSOR = 2**31 - 1
NOT_FOUND = b'{"detail":"Not found."}'


def _package(row: asyncpg.Record, api: str) -> dict[str, Any]:
    deprecated_by = row["deprecated_by_id"]
    return {
        "category": f"{api}/categories/{row['category_id']}/",
        "grids": [f"{api}/grids/{g}/" for g in row["grid_ids"]],
        "id": row["id"],
        "title": row["title"],
        "slug": row["slug"],
        "last_updated": row["last_updated"],
        "last_fetched": row["last_fetched"],
        "repo_url": row["repo_url"] or "",
        "pypi_version": row["pypi_version"],
        "created": row["created"],
        "modified": row["modified"],
        "repo_forks": row["repo_forks"],
        "repo_description": row["repo_description"],
        "pypi_url": row["pypi_url"],
        "documentation_url": row["documentation_url"],
        "repo_watchers": row["repo_watchers"],
        "commits_over_52": row["commits_over_52"],
        "participants": row["participants"],
        "url": f"{api}/packages/{row['id']}/",
        "repo_host": row["repo_host"],
        "score": row["score"],
        "pypi_license": row["pypi_license"],
        "pypi_requires_python": row["pypi_requires_python"],
        "pypi_classifiers": row["pypi_classifiers"],
        "supports_python3": row["supports_python3"],
        "date_deprecated": row["date_deprecated"],
        "date_repo_archived": row["date_repo_archived"],
        "deprecated_by": f"{api}/packages/{deprecated_by}/" if deprecated_by else None,
    }


def _int(raw: str | None, default: int, *, minimum: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value >= minimum else default


def _link(base: str, params: dict[str, str]) -> str:
    return f"{base}?{urlencode(sorted(params.items()))}"


async def list_page(
    pool: asyncpg.Pool, list_sql: str, api: str, query: dict[str, str]
) -> tuple[int, bytes]:
    limit = min(_int(query.get("limit"), PAGE_SIZE, minimum=1), MAX_PAGE_SIZE)
    on_cursor = "cursor" in query
    after = _int(query.get("cursor") or None, NO_CURSOR, minimum=1) if on_cursor else NO_CURSOR
    offset = 0 if on_cursor else _int(query.get("offset"), 0, minimum=0)
    rows = await pool.fetch(list_sql, limit, offset, after)
    total = rows[0]["total"]
    results = [_package(row, api) for row in rows if row["id"] is not None]
    self_url = f"{api}/packages/"
    next_link = previous = None
    if on_cursor:
        if len(results) == limit:
            next_link = _link(self_url, {"cursor": str(results[-1]["id"]), "limit": str(limit)})
    else:
        if offset + limit < total:
            next_link = _link(self_url, {"limit": str(limit), "offset": str(offset + limit)})
        if offset > 0:
            back = {"limit": str(limit)}
            if offset > limit:
                back["offset"] = str(offset - limit)
            previous = _link(self_url, back)
    body = {"count": total, "next": next_link, "previous": previous, "results": results}
    return 200, orjson.dumps(body, option=orjson.OPT_UTC_Z)


async def package_detail(pool: asyncpg.Pool, api: str, key: str) -> tuple[int, bytes]:
    if key.isascii() and key.isdigit():
        row = await pool.fetchrow(BY_ID_SQL, min(int(key), NO_CURSOR))
    else:
        row = await pool.fetchrow(BY_SLUG_SQL, key)
    if row is None:
        return 404, NOT_FOUND
    return 200, orjson.dumps(_package(row, api), option=orjson.OPT_UTC_Z)


def api_root(host: str) -> str:
    """The absolute prefix of the links, from the request's Host header."""
    return f"http://{host}/api/v4"


async def _jsonb(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


async def open_pool() -> tuple[asyncpg.Pool, str]:
    """The pool on BASELINE_DATABASE_URL and the list statement for its schema."""
    size = int(os.environ.get("BASELINE_POOL_SIZE", "20"))
    pool = await asyncpg.create_pool(
        os.environ["BASELINE_DATABASE_URL"], min_size=1, max_size=size, init=_jsonb
    )
    kept = await pool.fetchval("SELECT to_regclass('table_counts') IS NOT NULL")
    count = KEPT_COUNT if kept else FULL_COUNT
    return pool, LIST_SQL.format(count=count, fields=FIELDS)


class Baseline:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.list_sql = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert scope["type"] == "http" and self.pool is not None
        path: str = scope["path"]
        headers = dict(scope["headers"])
        api = api_root(headers.get(b"host", b"localhost").decode("latin-1"))
        status, body = 404, NOT_FOUND
        if path == PREFIX:
            raw = scope["query_string"].decode("latin-1")
            query = dict(parse_qsl(raw, keep_blank_values=True))
            status, body = await list_page(self.pool, self.list_sql, api, query)
        elif path.startswith(PREFIX) and path.endswith("/") and path.count("/") == 5:
            status, body = await package_detail(self.pool, api, path[len(PREFIX) : -1])
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool, self.list_sql = await open_pool()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = Baseline()
