"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.contract.hooks) for the contract run.

A schema can say what a reference looks like (an id, a slug, a hyperlink), never that the
row it names exists: `category: "x"` is schema-valid and still 422 when there is no
category x. So, for the requests schemathesis means to be valid (positive mode), every
reference is pointed at a row that exists right now, read from the live API just before
the call; which one is chosen from the generated value, so runs stay deterministic.
Everything else schemathesis generates is sent as generated. Negative cases are untouched.

Also signs GitHub webhook bodies with the run's secret, so the webhook is exercised past
its signature check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import zlib
from typing import Any

import httpx
import schemathesis

from app.insights.requirements import parse_requirements

BASE = os.environ.get("CONTRACT_BASE_URL", "")
TOKEN = os.environ.get("CONTRACT_TOKEN", "")
WEBHOOK_SECRET = os.environ.get("CONTRACT_WEBHOOK_SECRET", "")
API = "/api/v4"

# Body fields and query parameters that name another row, per operation path.
_BODY_REFS: dict[str, dict[str, str]] = {
    f"{API}/packages/": {"category": "categories", "deprecated_by": "packages"},
    f"{API}/packages/{{key}}/": {"category": "categories", "deprecated_by": "packages"},
    f"{API}/grids/": {"packages": "packages"},
    f"{API}/grids/{{key}}/": {"packages": "packages"},
    f"{API}/grids/{{key}}/packages/": {"package": "packages"},
    f"{API}/subscriptions/": {"grid": "grids", "category": "categories"},
}
_QUERY_REFS: dict[str, dict[str, str]] = {
    f"{API}/packages/": {"category": "categories", "grid": "grids"},
    f"{API}/search/": {"category": "categories"},
}


def _rows(resource: str) -> list[tuple[int, str]]:
    """(id, slug) of up to 100 live rows of `resource`; one is created if there is none."""
    answer = httpx.get(f"{BASE}{API}/{resource}/", params={"limit": 100}, timeout=30)
    rows = [(item["id"], item["slug"]) for item in answer.json()["results"]]
    if not rows:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        body: dict[str, Any] = {"title": f"Contract {resource}"}
        if resource == "packages":
            body["category"] = _rows("categories")[0][0]
        created = httpx.post(f"{BASE}{API}/{resource}/", json=body, headers=headers, timeout=30)
        rows = [(created.json()["id"], created.json()["slug"])]
    return rows


def _pick(value: Any, rows: list[tuple[int, str]], resource: str, *, links: bool) -> Any:
    """A live reference of the same form as `value` (id, slug or hyperlink)."""
    row_id, slug = rows[zlib.crc32(repr(value).encode()) % len(rows)]
    if isinstance(value, int):
        return row_id
    if links and isinstance(value, str) and "://" in value:
        return f"{BASE}{API}/{resource}/{row_id}/"
    return slug


def _target(case: Any) -> str:
    return str((case.path_parameters or {}).get("key", ""))


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    path = case.operation.path
    query = case.query or {}
    if query.get("cursor"):
        # A cursor is a value only the server makes (signed, for one list and ordering),
        # so a generated one cannot be valid: valid requests start on the cursor path
        # (`?cursor=`). Later cursors are walked by tests/test_cursor_pages.py.
        query["cursor"] = ""
    if query.get("modified_since") and query.get("ordering"):
        # A modified_since list has its own order, (modified, id): another one is a 400,
        # which one parameter's schema cannot say of another.
        del query["ordering"]
    if path == f"{API}/webhooks/github/" and WEBHOOK_SECRET:
        _sign(case)
        return
    if path == f"{API}/subscriptions/" and isinstance(case.body, dict):
        # A receiver that resolves here (no DNS offline); the run allows loopback targets
        # and sends nothing (WEBHOOK_ALLOW_PRIVATE, WEBHOOKS_ENABLED=false).
        case.body["url"] = "http://127.0.0.1:9/contract-receiver"
    if path == f"{API}/lookup/" and isinstance(case.body, dict):
        _usable_requirements(case.body)
    if isinstance(case.body, dict):
        for field, resource in _BODY_REFS.get(path, {}).items():
            value = case.body.get(field)
            if value is None:
                continue
            rows = _rows(resource)
            if field == "deprecated_by":
                # Not the package being edited: it cannot replace itself.
                target = _target(case)
                rows = [row for row in rows if target not in {str(row[0]), row[1]}]
                if not rows:
                    case.body[field] = None
                    continue
            if isinstance(value, list):
                # Naming a row twice is fine: the grid gets it once.
                case.body[field] = [_pick(item, rows, resource, links=True) for item in value]
            else:
                case.body[field] = _pick(value, rows, resource, links=True)
    if isinstance(case.query, dict):
        for name, resource in _QUERY_REFS.get(path, {}).items():
            value = case.query.get(name)
            if isinstance(value, str) and value.strip():
                case.query[name] = _pick(value, _rows(resource), resource, links=False)


def _usable_requirements(body: dict[str, Any]) -> None:
    """A requirements.txt is pip's format: a grammar, not a regex the schema could carry.
    In a positive case, a text the service's own parser refuses (a 422 naming each line,
    tested in tests/insights) becomes one it reads. Items need nothing: any non-blank item
    is answered, one that names no package with a reason."""
    requirements = body.get("requirements")
    if isinstance(requirements, str):
        try:
            parse_requirements(requirements)
        except ValueError:
            body["requirements"] = "django-shop>=1.2,<2  # the shop\n"


def _sign(case: Any) -> None:
    """The X-Hub-Signature-256 GitHub would send for this body."""
    body = case.body
    # The bytes schemathesis sends: requests' json= serialization.
    raw = body if isinstance(body, bytes) else json.dumps(body, allow_nan=False).encode()
    digest = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    case.headers = {**(case.headers or {}), "X-Hub-Signature-256": f"sha256={digest}"}
