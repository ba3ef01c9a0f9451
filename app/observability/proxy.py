"""What a trusted reverse proxy tells us about the client, applied once at the edge.

When the connecting peer is in TRUSTED_PROXIES, X-Forwarded-For gives the client address
(the nearest address that is not itself a trusted proxy), X-Forwarded-Proto the scheme
and X-Forwarded-Host the host the client asked for. Everything behind this middleware
(hyperlinks, ALLOWED_HOSTS, HSTS, logs) then sees the request as the client sent it.
From any other peer these headers are ignored: a client could forge them.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import IPNetwork


def _first(value: bytes) -> str:
    return value.decode("latin-1").split(",")[0].strip()


class ProxyHeadersMiddleware:
    def __init__(self, app: ASGIApp, trusted: list[IPNetwork]) -> None:
        self.app = app
        self.trusted = trusted

    def _is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if (
            not self.trusted
            or scope["type"] not in {"http", "websocket"}
            or client is None
            or not self._is_trusted(client[0])
        ):
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        headers: list[tuple[bytes, bytes]] = []
        forwarded_host: str | None = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-proto":
                proto = _first(value).lower()
                if proto in {"http", "https"}:
                    secure = proto == "https"
                    if scope["type"] == "websocket":
                        scope["scheme"] = "wss" if secure else "ws"
                    else:
                        scope["scheme"] = proto
            elif name == b"x-forwarded-for":
                scope["client"] = (self._client_from(value, client[0]), 0)
            elif name == b"x-forwarded-host":
                forwarded_host = _first(value)
            if name != b"host":
                headers.append((name, value))
        host = forwarded_host or next(
            (v.decode("latin-1") for n, v in scope["headers"] if n == b"host"), None
        )
        if host is not None:
            headers.append((b"host", host.encode("latin-1")))
        scope["headers"] = headers
        await self.app(scope, receive, send)

    def _client_from(self, forwarded_for: bytes, peer: str) -> str:
        """The rightmost address that is not a trusted proxy: the ones left of it were
        written by the client and prove nothing."""
        hops = [hop.strip() for hop in forwarded_for.decode("latin-1").split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else peer
