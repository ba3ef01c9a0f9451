"""ETags and conditional requests: `If-None-Match` saves a download, `If-Match` saves an edit.

An ETag is a digest of the exact JSON we serve, so it changes whenever anything a client
can see changes (a grid membership, a refreshed metric), with no version column to forget.
The hyperlinks' base is left out of the digest: a resource read through one host name and
written through another is still the same version. Writes check the preconditions against
the representation read under a row lock, in the same transaction as the write, so two
clients holding the same ETag cannot both succeed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from app.errors import PreconditionFailed
from app.links import API_PREFIX

# Set by the links dependency (app.deps.get_links) for each request.
LINK_BASE_STATE = "link_base"


def etag_of(body: bytes, link_base: str = "") -> str:
    """A strong ETag for a JSON body, blind to the base of the links to our own API.

    Only JSON strings that start with `<base>/api/v4/` lose their base, so text that merely
    mentions a host (a documentation_url, a cell) still counts in full.
    """
    if link_base:
        body = body.replace(f'"{link_base}{API_PREFIX}/'.encode(), f'"{API_PREFIX}/'.encode())
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _listed(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _weakly_matches(header: str, etag: str) -> bool:
    candidates = _listed(header)
    return "*" in candidates or etag in {tag.removeprefix("W/") for tag in candidates}


# A response body: a schema model, or the plain dict a read mapper made in the model's key
# order (app.schemas.package.package_fields), which skips building and validating a model.
Body = BaseModel | dict[str, Any]


def render(body: Body) -> bytes:
    """The one way a resource becomes bytes, so GETs and If-Match checks agree.

    orjson writes a mapper's dict as the very bytes pydantic writes for the model (compact,
    UTF-8, UTC datetimes ending in `Z`), for a fraction of the CPU.
    """
    if isinstance(body, BaseModel):
        return body.model_dump_json().encode()
    return orjson.dumps(body, option=orjson.OPT_UTC_Z)


def _etag(request: Request, body: bytes) -> str:
    return etag_of(body, getattr(request.state, LINK_BASE_STATE, ""))


def json_response(
    request: Request,
    model: Body,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON response carrying an ETag; a matching `If-None-Match` on a read gives 304."""
    body = render(model)
    etag = _etag(request, body)
    all_headers = {"ETag": etag, **(headers or {})}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and request.method in {"GET", "HEAD"} and _weakly_matches(if_none_match, etag):
        return Response(status_code=304, headers=all_headers)
    return Response(
        body, status_code=status_code, media_type="application/json", headers=all_headers
    )


def bytes_response(
    request: Request, body: bytes, *, media_type: str, cache_control: str | None = None
) -> Response:
    """Any other representation (a badge, a feed) with a strong ETag of its bytes; a
    matching `If-None-Match` on a read gives 304 with the same validators."""
    headers = {"ETag": etag_of(body)}
    if cache_control is not None:
        headers["Cache-Control"] = cache_control
    if_none_match = request.headers.get("if-none-match")
    if (
        if_none_match
        and request.method in {"GET", "HEAD"}
        and _weakly_matches(if_none_match, headers["ETag"])
    ):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def created(request: Request, model: BaseModel, location: str) -> Response:
    """201 Created: the new resource, its ETag, and where it lives."""
    return json_response(request, model, status_code=201, headers={"Location": location})


def check_preconditions(request: Request, current: BaseModel | None) -> None:
    """412 when a write's preconditions fail against the current representation (None:
    the resource does not exist yet).

    `If-Match` needs a current representation with one of the listed tags (strong
    comparison, RFC 9110 13.1.1; `*` means "exists"). `If-None-Match` on a write refuses
    when the resource exists and matches (`*`: "create only, never overwrite").
    """
    etag = _etag(request, render(current)) if current is not None else None
    if_match = request.headers.get("if-match")
    if if_match is not None:
        candidates = _listed(if_match)
        if etag is None or not ("*" in candidates or etag in candidates):
            raise PreconditionFailed(
                "The resource changed since you read it (If-Match does not match its ETag); "
                "GET it again and reapply your change."
            )
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and etag is not None and _weakly_matches(if_none_match, etag):
        raise PreconditionFailed("The resource exists and If-None-Match forbids replacing it.")
