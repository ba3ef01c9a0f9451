"""One TLS context per process for every outgoing HTTPS client.

Loading the CA bundle into a context costs 20-140 ms of CPU, and httpx loads one for each
client it makes unless given a context: the forges' clients, the webhook sender's and the
importer's each did at every app start, refresh run and import. A context holds no
per-connection state, so one serves them all.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context(*, trust_env: bool = True) -> ssl.SSLContext:
    """httpx's own choice of bundle: SSL_CERT_FILE or SSL_CERT_DIR when `trust_env`, else
    certifi's (as a client made with that `trust_env` would load)."""
    return httpx.create_ssl_context(trust_env=trust_env)
