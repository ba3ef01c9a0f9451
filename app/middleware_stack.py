"""Every middleware of the app, in one list, outermost first: what wraps what, in one place.

1. ProxyHeadersMiddleware: a trusted proxy's client address, scheme and host, applied
   before anything reads them.
2. RequestMiddleware: request id, access log line, metrics; it times everything inside,
   and answers an unhandled exception with our 500 body (`private, no-store`, as
   CachePolicyMiddleware would have made it).
2b. ReadCacheMiddleware (app.cache): anonymous reads from the worker's memory, after the
   request is logged and counted, before the cache policy and compression (it keeps the
   final bytes and headers, so a hit runs nothing inside it).
2c. CachePolicyMiddleware (app.conditional): Cache-Control and Vary on every answer.
3. CompressionMiddleware: gzip for bodies over 1 KB, with `-gzip` ETags; outside the
   security headers, so the docs page is hashed before it is compressed.
4. SecurityHeadersMiddleware: on every answer from here in, CORS preflights, 413s and
   error bodies included (RequestMiddleware adds them to its own 500).
5. CORSMiddleware (when CORS_ORIGINS is set): before MethodsMiddleware, which would
   otherwise answer a preflight OPTIONS as DRF's metadata.
6. WriteRateLimitMiddleware (when a WRITE_RATE_LIMIT_* is set): before the body is read or
   a token checked.
7. BodyLimitMiddleware: MAX_BODY_BYTES, before a route reads the body.
8. MethodsMiddleware: OPTIONS, HEAD and 405s as DRF answers them, APPEND_SLASH.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from app.cache.middleware import ReadCacheMiddleware
from app.conditional import CachePolicyMiddleware
from app.config import Settings
from app.middleware import BodyLimitMiddleware, MethodsMiddleware
from app.observability import CORS_REQUEST_HEADERS, CORS_RESPONSE_HEADERS
from app.observability.compression import CompressionMiddleware
from app.observability.headers import SecurityHeadersMiddleware
from app.observability.prometheus import observe_pool_after_request
from app.observability.proxy import ProxyHeadersMiddleware
from app.observability.requests import RequestMiddleware, RouteTemplates
from app.ratelimit import write_rate_limits


def middleware_stack(
    app: FastAPI, settings: Settings, plain_get_paths: list[str]
) -> list[Middleware]:
    """The app's middleware, outermost first (see the module's docstring)."""
    cors = None
    if settings.cors_origins:
        cors = Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            # Bearer tokens, no cookies: credentials mode is not needed, and `*` stays usable.
            allow_credentials=False,
            max_age=600,
        )
    stack = [
        Middleware(ProxyHeadersMiddleware, trusted=settings.trusted_proxies),
        Middleware(
            RequestMiddleware,
            templates=RouteTemplates(lambda: list(app.routes)),
            after=observe_pool_after_request,
        ),
        Middleware(ReadCacheMiddleware),
        Middleware(
            CachePolicyMiddleware,
            max_age=settings.http_cache_max_age,
            stale_while_revalidate=settings.http_cache_stale_while_revalidate,
            # The hyperlinks' base follows a trusted proxy's X-Forwarded-Host/-Proto.
            forwarded_links=bool(settings.trusted_proxies) and not settings.public_base_url,
        ),
        Middleware(CompressionMiddleware),
        Middleware(SecurityHeadersMiddleware),
        cors,
        write_rate_limits(settings),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
        Middleware(MethodsMiddleware, openapi=app.openapi, plain_get_paths=plain_get_paths),
    ]
    return [middleware for middleware in stack if middleware is not None]


def install_middleware(app: FastAPI, settings: Settings, plain_get_paths: list[str]) -> None:
    # Each add_middleware wraps the ones added before it: innermost first.
    for cls, args, kwargs in reversed(middleware_stack(app, settings, plain_get_paths)):
        app.add_middleware(cls, *args, **kwargs)
