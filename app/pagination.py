"""The one pagination helper: DRF's LimitOffsetPagination to the letter, and cursor pages.

DRF forgives bad input: a `limit` that is not a positive integer means the default,
one above the maximum means the maximum, and a bad `offset` means 0. Clients of the
original rely on that, so we do the same. `next`/`previous` keep every other query
parameter and sort them, as DRF's `replace_query_param` does.

Cursor pages (`?cursor=`) are keyset pages: a cursor names the row a page starts after
(or ends before), so page 10,000 costs what page 1 costs. The token is opaque to clients:
urlsafe base64 of a small JSON object, HMAC-signed (CURSOR_SECRET), so a cursor this
service did not make is a 400, never a query. The repositories (app.repositories.keyset)
turn a cursor into SQL and check its values against the columns it orders by.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlencode

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import get_route_path  # type: ignore[attr-defined]

from app.conditional import json_response
from app.config import Settings
from app.errors import InvalidQuery
from app.schemas.page import Page

# Far past any real table; keeps OFFSET inside a 64-bit integer on every database.
MAX_OFFSET = 2**62
# Held here: pydantic caches a parametrized generic only while something references it,
# so `Page[Any]` written in paginated() rebuilt the class (about 2 ms) on most requests.
AnyPage = Page[Any]
# Far longer than any cursor we make (a title key is at most ~600 characters encoded);
# anything longer is refused before it is decoded.
MAX_CURSOR_LENGTH = 2000
_SIGNATURE_BYTES = 16
_BAD_CURSOR = "is not a cursor of this list; follow the `next` and `previous` links"

Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a list: past (`forward`) or before the row whose key is `values`.

    `resource` and `ordering` say which list and order it was made for; `values` are
    JSON values (datetimes as ISO 8601 text) until a repository types them.
    """

    resource: str
    ordering: str
    forward: bool
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class CursorCodec:
    """Signs and checks cursor tokens with a key derived from CURSOR_SECRET."""

    key: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> CursorCodec:
        secret = settings.cursor_secret.get_secret_value() if settings.cursor_secret else ""
        return cls(hashlib.sha256(b"packages-api cursor\x00" + secret.encode()).digest())

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self.key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def encode(self, cursor: Cursor) -> str:
        body = {
            "r": cursor.resource,
            "o": cursor.ordering,
            "d": "next" if cursor.forward else "prev",
            "k": list(cursor.values),
        }
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, token: str) -> Cursor:
        """The cursor a token holds; 400 (`invalid_query`) for anything we did not sign."""
        try:
            if len(token) > MAX_CURSOR_LENGTH:
                raise ValueError("too long")
            encoded_payload, encoded_signature = token.split(".")
            payload = _unb64(encoded_payload)
            if not hmac.compare_digest(_unb64(encoded_signature), self._sign(payload)):
                raise ValueError("bad signature")
            body = json.loads(payload)
            if not isinstance(body, dict) or set(body) != {"r", "o", "d", "k"}:
                raise ValueError("bad shape")
            resource, ordering, direction, values = body["r"], body["o"], body["d"], body["k"]
            if not (isinstance(resource, str) and isinstance(ordering, str)):
                raise ValueError("bad shape")
            if direction not in {"next", "prev"} or not isinstance(values, list):
                raise ValueError("bad shape")
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidQuery("cursor", _BAD_CURSOR) from error
        return Cursor(resource, ordering, direction == "next", tuple(values))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:
        raise ValueError("not base64") from error


def bad_cursor() -> InvalidQuery:
    """The error for a well-signed cursor that does not fit the list it was sent to."""
    return InvalidQuery("cursor", _BAD_CURSOR)


@dataclass(frozen=True, slots=True)
class KeysetRequest:
    """A cursor page was asked for: `cursor` None is the first one (`?cursor=`)."""

    codec: CursorCodec
    cursor: Cursor | None


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    offset: int
    # None: the classic limit/offset page.
    keyset: KeysetRequest | None = None


@dataclass(frozen=True, slots=True)
class ListPage(Generic[Row]):
    """A page of a list: the whole list's count, this page's rows, and on the cursor path
    where the neighbouring pages start."""

    total: int
    rows: Sequence[Row]
    next_cursor: Cursor | None = None
    previous_cursor: Cursor | None = field(default=None)


def _positive_int(raw: str, *, strict: bool, cutoff: int) -> int:
    value = int(raw)
    if value < 0 or (strict and value == 0):
        raise ValueError(raw)
    return min(value, cutoff)


def page_request(
    limit: str | None, offset: str | None, settings: Settings, cursor: str | None = None
) -> PageRequest:
    """The page the raw `limit`, `offset` and `cursor` query values ask for.

    `cursor` (even blank) selects cursor pages, where `offset` means nothing and is
    ignored, as DRF's CursorPagination ignores it (and as a bad `offset` is forgiven).
    The two are independent query parameters in the OpenAPI document, which cannot say
    that one excludes the other, so refusing the pair would refuse a valid request.
    """
    page_limit = settings.page_size
    if limit is not None:
        try:
            page_limit = _positive_int(limit, strict=True, cutoff=settings.max_page_size)
        except ValueError:
            page_limit = settings.page_size
    if cursor is not None:
        codec = CursorCodec.from_settings(settings)
        token = cursor.strip()
        position = codec.decode(token) if token else None
        return PageRequest(limit=page_limit, offset=0, keyset=KeysetRequest(codec, position))
    page_offset = 0
    if offset is not None:
        try:
            page_offset = _positive_int(offset, strict=False, cutoff=MAX_OFFSET)
        except ValueError:
            page_offset = 0
    return PageRequest(limit=page_limit, offset=page_offset)


def _with_params(url: str, query: str, changes: dict[str, str | None]) -> str:
    values = parse_qs(query, keep_blank_values=True)
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = [value]
    encoded = urlencode(sorted(values.items()), doseq=True)
    return f"{url}?{encoded}" if encoded else url


def page_links(
    page: PageRequest, count: int, self_url: str, query: str
) -> tuple[str | None, str | None]:
    """(next, previous) for a page of `count` results at `self_url` (absolute, no query)."""
    next_link = None
    if page.offset + page.limit < count:
        next_link = _with_params(
            self_url, query, {"limit": str(page.limit), "offset": str(page.offset + page.limit)}
        )
    previous_link = None
    if page.offset > 0:
        previous_offset = page.offset - page.limit
        previous_link = _with_params(
            self_url,
            query,
            {
                "limit": str(page.limit),
                "offset": str(previous_offset) if previous_offset > 0 else None,
            },
        )
    return next_link, previous_link


def cursor_links(
    keyset: KeysetRequest, page: PageRequest, listing: ListPage[Any], self_url: str, query: str
) -> tuple[str | None, str | None]:
    """(next, previous) of a cursor page: the same URL with `cursor` set and no `offset`."""

    def link(cursor: Cursor | None) -> str | None:
        if cursor is None:
            return None
        changes = {"cursor": keyset.codec.encode(cursor), "limit": str(page.limit), "offset": None}
        return _with_params(self_url, query, changes)

    return link(listing.next_cursor), link(listing.previous_cursor)


def paginated(
    request: Request,
    base_url: str,
    page: PageRequest,
    listing: ListPage[Any],
    results: Sequence[BaseModel] | Sequence[dict[str, Any]],
) -> Response:
    """The list body `{count, next, previous, results}` as a response with an ETag."""
    self_url = base_url + get_route_path(request.scope)
    query = request.url.query
    if page.keyset is not None:
        next_link, previous_link = cursor_links(page.keyset, page, listing, self_url, query)
    else:
        next_link, previous_link = page_links(page, listing.total, self_url, query)
    body: BaseModel | dict[str, Any]
    if results and isinstance(results[0], dict):
        # A read mapper's dicts: the page as a dict too, in Page's key order (app.conditional).
        body = {"count": listing.total, "next": next_link, "previous": previous_link}
        body["results"] = results
    else:
        body = AnyPage(
            count=listing.total, next=next_link, previous=previous_link, results=list(results)
        )
    return json_response(request, body)
