"""Anonymous GETs answered from the worker's store; misses rendered once and kept.

Placed inside RequestMiddleware (a hit is logged, timed and counted like any answer) and
outside compression, security headers and CORS: a kept answer is the final bytes, gzipped
or not, with every header the app would send. The key is everything about a request that
can change its answer: path and query, host and scheme (the hyperlinks' base), the proxy
headers that may set them, whether gzip is accepted, and Origin (CORS).
A request with a token is never looked up nor kept (it may see more, and is `private`).

A miss is sent to the app without If-None-Match, so that the full answer can be kept; the
client still gets its 304 when its tag matches. Only 200s of routes that wrote down their
dependencies (app.cache.tags.cache_as) are kept. `X-Cache: hit|miss|bypass` says which.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache.store import Entry, Key, entry_size
from app.cache.tags import HORIZON_STATE, STATE_KEY
from app.conditional import weakly_matches
from app.metrics import CACHE_REQUESTS

if TYPE_CHECKING:
    from app.cache.lifespan import ReadCache

# Request headers that change an answer (besides host, path, query and scheme). Not Accept:
# every answer is the same JSON whatever a client accepts (the API never answers 406), and
# keying on it would keep one copy per client library's default.
KEY_HEADERS = (b"host", b"origin", b"x-forwarded-host", b"x-forwarded-proto")
# Response headers a 304 repeats (RFC 9110 15.4.5): the validators and caching metadata,
# not the body's length, type or coding.
NOT_IN_304 = frozenset({b"content-length", b"content-type", b"content-encoding"})
X_CACHE = b"x-cache"
# The lookups' counters, found once (labels() costs more than the rest of a hit's lookup).
_HIT, _MISS, _BYPASS = (CACHE_REQUESTS.labels(result) for result in ("hit", "miss", "bypass"))


def request_key(scope: Scope) -> Key | None:
    """The store's key for this request, or None when it must not use the store."""
    found: dict[bytes, bytes] = {}
    gzip = b"0"
    for name, value in scope["headers"]:
        if name == b"authorization":
            return None
        if name == b"accept-encoding":
            # As Starlette's GZipMiddleware decides: "gzip" anywhere in the header.
            gzip = b"1" if b"gzip" in value else b"0"
        elif name in KEY_HEADERS:
            found[name] = found[name] + b"," + value if name in found else value
    return (
        scope.get("scheme", "http").encode(),
        scope.get("root_path", "").encode() + scope["path"].encode(),
        scope.get("query_string", b""),
        gzip,
        *(found.get(name, b"") for name in KEY_HEADERS),
    )


def _matches(if_none_match: bytes | None, etag: str | None) -> bool:
    if if_none_match is None or etag is None:
        return False
    return weakly_matches(if_none_match.decode("latin-1"), etag)


class ReadCacheMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache: ReadCache | None = None
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            cache = getattr(scope["app"].state, "read_cache", None)
        key = request_key(scope) if cache is not None else None
        if cache is None or key is None:
            await self.app(scope, receive, send)
            return
        if not cache.watcher.sync():
            _BYPASS.inc()
            await self.app(scope, receive, _marked(send, b"bypass"))
            return
        if_none_match = next((v for n, v in scope["headers"] if n == b"if-none-match"), None)
        head = scope["method"] == "HEAD"
        entry = cache.store.get(key, time.time())
        if entry is not None:
            _HIT.inc()
            await _send_entry(entry, send, if_none_match, head)
            return
        _MISS.inc()
        if head:  # a HEAD has no body to keep
            await self.app(scope, receive, _marked(send, b"miss"))
            return
        await self._fill(cache, key, scope, receive, send, if_none_match)

    async def _fill(
        self,
        cache: ReadCache,
        key: Key,
        scope: Scope,
        receive: Receive,
        send: Send,
        if_none_match: bytes | None,
    ) -> None:
        state = scope.setdefault("state", {})  # the routes' request.state, seen from here
        if if_none_match is not None:
            scope = {
                **scope,
                "headers": [(n, v) for n, v in scope["headers"] if n != b"if-none-match"],
            }
        start = cache.store.begin()
        started: Message | None = None
        kept: list[bytes] | None = None

        async def capture(message: Message) -> None:
            nonlocal started, kept
            if message["type"] == "http.response.start":
                started = message
                headers = message.get("headers", [])
                if (
                    message["status"] == 200
                    and state.get(STATE_KEY) is not None
                    and not any(name == b"set-cookie" for name, _ in headers)
                ):
                    kept = []  # the body is kept, and sent once complete
                else:
                    await _send_start(message, send, if_none_match)
                return
            if kept is None:  # passed through (its body dropped if it became a 304)
                if started is None or not _is_304_for(started, if_none_match):
                    await send(message)
                return
            kept.append(message.get("body", b""))
            if message.get("more_body", False) or started is None:
                return
            body = b"".join(kept)
            headers = tuple(started.get("headers", []))
            etag = _etag_of(headers)
            horizon = state.get(HORIZON_STATE)
            entry = Entry(
                200,
                headers,
                body,
                etag,
                state[STATE_KEY],
                entry_size(key, headers, body),
                expires=horizon[0].timestamp() if horizon else None,
            )
            cache.store.put(key, entry, start)
            await _send_entry(entry, send, if_none_match, head=False, result=b"miss")

        try:
            await self.app(scope, receive, capture)
        finally:
            cache.store.end(start)


def _etag_of(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    return next((v.decode("latin-1") for n, v in headers if n == b"etag"), None)


def _is_304_for(started: Message, if_none_match: bytes | None) -> bool:
    etag = _etag_of(started.get("headers", []))
    return started["status"] == 200 and _matches(if_none_match, etag)


async def _send_304(headers: Iterable[tuple[bytes, bytes]], send: Send, result: bytes) -> None:
    """The client holds this answer already: its validators and caching headers, no body."""
    kept = [*((n, v) for n, v in headers if n not in NOT_IN_304), (X_CACHE, result)]
    await send({"type": "http.response.start", "status": 304, "headers": kept})
    await send({"type": "http.response.body", "body": b""})


async def _send_start(message: Message, send: Send, if_none_match: bytes | None) -> None:
    """An answer that is not kept: as the app made it, but a 304 if the client's tag matches
    (the app would have answered so, had it seen If-None-Match)."""
    if _is_304_for(message, if_none_match):
        await _send_304(message.get("headers", []), send, b"miss")
        return
    await send({**message, "headers": [*message.get("headers", []), (X_CACHE, b"miss")]})


async def _send_entry(
    entry: Entry, send: Send, if_none_match: bytes | None, head: bool, result: bytes = b"hit"
) -> None:
    if _matches(if_none_match, entry.etag):
        await _send_304(entry.headers, send, result)
        return
    await send(
        {
            "type": "http.response.start",
            "status": entry.status,
            "headers": [*entry.headers, (X_CACHE, result)],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else entry.body})


def _marked(send: Send, result: bytes) -> Send:
    async def marked(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (X_CACHE, result)]}
        await send(message)

    return marked
