"""ETags and conditional requests: `If-None-Match` saves a download, `If-Match` saves an edit.

An ETag is a digest of the exact JSON we serve, so it changes whenever anything a client
can see changes (a grid membership, a refreshed metric), with no version column to forget.
Writes compare `If-Match` against the representation read under a row lock, in the same
transaction as the write, so two clients holding the same ETag cannot both succeed.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from app.errors import PreconditionFailed


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _listed(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _weakly_matches(header: str, etag: str) -> bool:
    candidates = _listed(header)
    return "*" in candidates or etag in {tag.removeprefix("W/") for tag in candidates}


def render(model: BaseModel) -> bytes:
    """The one way a resource becomes bytes, so GETs and If-Match checks agree."""
    return model.model_dump_json().encode()


def json_response(
    request: Request,
    model: BaseModel,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON response carrying an ETag; a matching `If-None-Match` on a read gives 304."""
    body = render(model)
    etag = etag_of(body)
    all_headers = {"ETag": etag, **(headers or {})}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and request.method in {"GET", "HEAD"} and _weakly_matches(if_none_match, etag):
        return Response(status_code=304, headers=all_headers)
    return Response(
        body, status_code=status_code, media_type="application/json", headers=all_headers
    )


def check_if_match(request: Request, current: BaseModel) -> None:
    """412 when the client's `If-Match` does not name the current representation.

    RFC 9110 asks for the strong comparison here: weak tags never match.
    """
    if_match = request.headers.get("if-match")
    if if_match is None:
        return
    candidates = _listed(if_match)
    if "*" in candidates or etag_of(render(current)) in candidates:
        return
    raise PreconditionFailed(
        "The resource changed since you read it (If-Match does not match its ETag); "
        "GET it again and reapply your change."
    )
