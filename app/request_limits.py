"""What every API request must be before any route reads it: a query string of bounded
length (414), and for a body, JSON (415 otherwise) that is unambiguous (400 for duplicate
keys, NaN/Infinity, nesting too deep to parse or numbers too long to read).

A dependency of the whole API router (app.main), so it runs before each route's own
dependencies: a refused request never reaches the database, let alone its write lock.
The body is read once; FastAPI reuses the bytes.
"""

from __future__ import annotations

import email.message
import json
from typing import Any

from fastapi import Request

from app.errors import AppError, MalformedBody
from app.state import state_of

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class UnsupportedMediaType(AppError, status=415, code="unsupported_media_type"):
    pass


class QueryTooLong(AppError, status=414, code="uri_too_long"):
    pass


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI reads a body without a Content-Type as JSON; so do we
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Parsers disagree on which duplicate wins; we refuse to guess.
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_json(body: bytes) -> None:
    """Raises MalformedBody when the body is not one unambiguous JSON document."""
    try:
        json.loads(body, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise MalformedBody("The body is nested too deeply.") from None
    except UnicodeDecodeError:
        raise MalformedBody("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise MalformedBody(
            f"The body is not valid JSON (at character {error.pos}): {error.msg}."
        ) from None
    except ValueError as error:  # duplicate keys, NaN, or an integer of over 4300 digits
        raise MalformedBody(f"The body is not acceptable JSON: {error}.") from None


async def check_request(request: Request) -> None:
    settings = state_of(request.app).settings
    query = request.scope.get("query_string", b"")
    if len(query) > settings.max_query_bytes:
        raise QueryTooLong(
            f"The query string is longer than {settings.max_query_bytes} bytes (MAX_QUERY_BYTES)."
        )
    if request.method not in _BODY_METHODS:
        return
    body = await request.body()  # over MAX_BODY_BYTES: 413 (app.middleware)
    if not body:
        return
    if not _is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType("Send the body as JSON: `Content-Type: application/json`.")
    check_json(body)
