"""Running the service in production: logs, request ids, metrics, probes, proxies, CORS,
security headers and compression. app.observability.install installs logs and metrics; the
middleware is in app.middleware_stack, with the app's own."""

from __future__ import annotations

# Browsers may send these on cross-origin calls, and read these from the answers.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
]
CORS_RESPONSE_HEADERS = ["ETag", "Location", "X-Request-ID", "Retry-After", "Allow", "X-Cache"]
