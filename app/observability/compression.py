"""gzip for large bodies (Starlette's GZipMiddleware), with ETags that stay truthful.

A gzipped body is a different representation from the plain one, so it cannot share a
strong ETag (RFC 9110 8.8.1). Weakening it (W/) would break writes: If-Match compares
strongly, and most HTTP clients accept gzip. Instead, like Apache's mod_deflate, the
gzipped answer carries the plain tag with a `-gzip` suffix (still strong: Starlette's
gzip output is byte-for-byte repeatable), and the suffix is removed from If-Match and
If-None-Match before the app compares, so a tag from either representation works.
It runs outside MethodsMiddleware so `Vary: Accept` is kept and `Accept-Encoding` added.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SUFFIX = "-gzip"
# Bodies smaller than this are sent as they are: gzip's framing would outweigh the gain.
MINIMUM_SIZE = 1024
_SUFFIXED_TAG = re.compile(r'(W/)?"([^"]*)-gzip"')
_CONDITIONAL = {b"if-match", b"if-none-match"}


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        # Level 6: zlib's default, nearly level 9's ratio on JSON at a fraction of the CPU.
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.gzip(scope, receive, send)
            return
        # Tags the client holds for the gzipped representation, by their plain form.
        gzip_tags: set[str] = set()
        headers = []
        for name, value in scope["headers"]:
            if name in _CONDITIONAL and b"-gzip" in value:

                def plain(match: re.Match[str]) -> str:
                    gzip_tags.add(f'"{match.group(2)}"')
                    return f'{match.group(1) or ""}"{match.group(2)}"'

                value = _SUFFIXED_TAG.sub(plain, value.decode("latin-1")).encode("latin-1")
            headers.append((name, value))
        if gzip_tags:
            scope = {**scope, "headers": headers}
        # HEAD is answered as GET, compressed, then emptied: its Content-Encoding, -Length
        # and ETag are the ones a GET would have.
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                etag = out.get("etag")
                if etag and etag.startswith('"') and etag.endswith('"'):
                    gzipped = out.get("content-encoding") == "gzip"
                    # A 304 confirms the representation the client holds: gzipped if its
                    # tag was.
                    confirmed = message["status"] == 304 and etag in gzip_tags
                    if gzipped or confirmed:
                        out["etag"] = etag[:-1] + SUFFIX + '"'
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.gzip(scope, receive, send_tagged)
