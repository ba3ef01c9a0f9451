"""ETags and conditional requests: `If-None-Match` saves a download, `If-Match` saves an edit;
and Cache-Control/Vary, which let a shared cache keep reads and revalidate them with the ETags.

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
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import get_route_path  # type: ignore[attr-defined]
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def weakly_matches(header: str, etag: str) -> bool:
    """Does an If-None-Match header name `etag` (weak comparison, `*` included)?"""
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
    if if_none_match and request.method in {"GET", "HEAD"} and weakly_matches(if_none_match, etag):
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
        and weakly_matches(if_none_match, headers["ETag"])
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
    if if_none_match is not None and etag is not None and weakly_matches(if_none_match, etag):
        raise PreconditionFailed("The resource exists and If-None-Match forbids replacing it.")


# --- Who may store an answer: Cache-Control and Vary for shared caches. -------------------

PRIVATE = b"private, no-store"
_STORABLE_METHODS = {"GET", "HEAD"}


class CachePolicyMiddleware:
    """Cache-Control and Vary on every answer, so nginx or a CDN in front can serve reads.

    An anonymous GET or HEAD of an API resource answered 2xx/3xx (304s included: RFC 9111
    4.3.4 has them carry the 200's policy) is `public, max-age=N,
    stale-while-revalidate=M`: a shared cache may serve it N seconds, then serve it stale
    for M more while it revalidates with If-None-Match (the ETags above make that a 304).
    Anything asked with an Authorization header, every error and every write is
    `private, no-store`: a token's answer or a transient failure must never be replayed
    to someone else. Pages outside the API set their own (the docs pages) or none.

    Vary names every request header that changes a public answer: Accept (DRF's),
    Accept-Encoding (gzip), Authorization (a shared cache may otherwise serve a stored
    `public` answer to a request carrying a token), and, when a trusted proxy's
    X-Forwarded-Host/-Proto set the hyperlinks' base (no PUBLIC_BASE_URL), those two.
    Tokens already there (Origin from CORS) are kept; none is repeated.

    Inside the read cache, so a kept answer holds its policy (a hit runs none of this);
    RequestMiddleware gives its own 500s and 503s `private, no-store` itself.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_age: int,
        stale_while_revalidate: int,
        forwarded_links: bool,
    ) -> None:
        self.app = app
        self.public = (
            f"public, max-age={max_age}, stale-while-revalidate={stale_while_revalidate}"
        ).encode()
        vary = ["Accept", "Accept-Encoding", "Authorization"]
        if forwarded_links:
            vary += ["X-Forwarded-Host", "X-Forwarded-Proto"]
        self.vary = vary
        self.api_path = f"{API_PREFIX}/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        in_api = get_route_path(scope).startswith(self.api_path)
        anonymous_read = scope["method"] in _STORABLE_METHODS and not any(
            name == b"authorization" for name, _ in scope["headers"]
        )

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                status: int = message["status"]
                headers = MutableHeaders(scope=message)
                if status >= 400 or (in_api and not anonymous_read):
                    headers["cache-control"] = PRIVATE.decode()
                elif in_api and "cache-control" not in headers:
                    headers["cache-control"] = self.public.decode()
                    headers["vary"] = _merged_vary(headers.get("vary"), self.vary)
            await send(message)

        await self.app(scope, receive, send_with_policy)


def _merged_vary(existing: str | None, wanted: list[str]) -> str:
    tokens = [token.strip() for token in (existing or "").split(",") if token.strip()]
    seen = {token.lower() for token in tokens}
    tokens += [token for token in wanted if token.lower() not in seen]
    return ", ".join(tokens)
