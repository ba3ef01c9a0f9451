"""The one pagination helper: DRF's LimitOffsetPagination, to the letter.

DRF forgives bad input: a `limit` that is not a positive integer means the default,
one above the maximum means the maximum, and a bad `offset` means 0. Clients of the
original rely on that, so we do the same. `next`/`previous` keep every other query
parameter and sort them, as DRF's `replace_query_param` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import get_route_path  # type: ignore[attr-defined]

from app.conditional import json_response
from app.config import Settings
from app.schemas.page import Page

# Far past any real table; keeps OFFSET inside a 64-bit integer on every database.
MAX_OFFSET = 2**62
# Held here: pydantic caches a parametrized generic only while something references it,
# so `Page[Any]` written in paginated() rebuilt the class (about 2 ms) on most requests.
AnyPage = Page[Any]


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    offset: int


def _positive_int(raw: str, *, strict: bool, cutoff: int) -> int:
    value = int(raw)
    if value < 0 or (strict and value == 0):
        raise ValueError(raw)
    return min(value, cutoff)


def page_request(limit: str | None, offset: str | None, settings: Settings) -> PageRequest:
    """The page the raw `limit` and `offset` query values ask for."""
    page_limit = settings.page_size
    if limit is not None:
        try:
            page_limit = _positive_int(limit, strict=True, cutoff=settings.max_page_size)
        except ValueError:
            page_limit = settings.page_size
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


def paginated(
    request: Request,
    base_url: str,
    page: PageRequest,
    count: int,
    results: Sequence[BaseModel],
) -> Response:
    """The list body `{count, next, previous, results}` as a response with an ETag."""
    self_url = base_url + get_route_path(request.scope)
    next_link, previous_link = page_links(page, count, self_url, request.url.query)
    body = AnyPage(count=count, next=next_link, previous=previous_link, results=list(results))
    return json_response(request, body)
