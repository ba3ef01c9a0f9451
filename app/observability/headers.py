"""Security headers on every response, errors and docs pages included.

API answers forbid everything a browser could do with them (`default-src 'none'`). HTML
pages (the docs) may load their own scripts and styles; their inline scripts are allowed
by hash, computed from the page as served, so the policy follows whatever the page holds
without 'unsafe-inline' for scripts. HSTS only on https, where a browser honours it.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The docs pages' one policy (app.docs repeats it in each page's <meta> tag, so it holds
# whatever serves the page): everything from this service, so no future version of an asset
# can quietly reach a CDN. Swagger UI sets inline styles and Redoc injects <style> tags,
# hence 'unsafe-inline' for styles only; Redoc runs its search in a blob: worker and draws
# images as data: URIs. As a header it also carries the hashes of the page's inline
# scripts and frame-ancestors, which a <meta> policy cannot.
_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'"
)
META_PAGE_POLICY = _PAGE_POLICY.format(hashes="")
HSTS = "max-age=31536000"
_INLINE_SCRIPT = re.compile(
    rb"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)


def page_policy(html: bytes) -> str:
    hashes = "".join(
        " 'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return _PAGE_POLICY.format(hashes=hashes) + "; frame-ancestors 'none'"


def add_security_headers(headers: MutableHeaders, scope: Scope, policy: str = API_POLICY) -> None:
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Content-Security-Policy"] = policy
    if scope.get("scheme") in {"https", "wss"}:
        headers["Strict-Transport-Security"] = HSTS


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_secured(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    start = message  # held until the page is complete, to hash its scripts
                    return
                add_security_headers(headers, scope)
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                page = b"".join(chunks)
                add_security_headers(MutableHeaders(scope=start), scope, page_policy(page))
                await send(start)
                message = {"type": "http.response.body", "body": page}
            await send(message)

        await self.app(scope, receive, send_secured)
