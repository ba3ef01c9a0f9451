"""Where a webhook may be delivered: the URL's host resolved, every address judged, and
the address to connect to handed back so that the connection goes where the check looked.

A subscriber chooses the URL, so without this the service would POST wherever it is
told: its own admin ports on loopback, the cloud's metadata service (169.254.169.254),
the private network behind it (server-side request forgery). Every address the name
resolves to must be public unicast; one that is not fails the whole URL, since a resolver
may answer differently next time. Names are judged by what they resolve to, never by how
they are spelled, so `0x7f.1`, `2130706433` or `[::ffff:127.0.0.1]` fare as 127.0.0.1 does.

Resolving once and connecting by name afterwards would let a name that answered with a
public address at the check answer with 127.0.0.1 at the connection (DNS rebinding). So
the sender connects to `Destination.addresses[0]` itself: `pinned_request` gives the URL
with that address in it, the Host header and the TLS server name (httpx's `sni_hostname`
extension), so the certificate is still checked against the name. Send those without
following redirects (a redirect is a new URL, not checked), from a client that keeps no
idle connections (`httpx.Limits(max_keepalive_connections=0)`) or one client per
destination: httpx pools connections by the URL's origin, here the address, so a
connection opened for one name would otherwise carry requests for another name served
from the same address, over the first name's TLS session.

`allow_private=True` (WEBHOOK_ALLOW_PRIVATE) admits private, loopback, link-local and
the other non-public unicast ranges, for receivers on one's own network and for tests;
unspecified, multicast and broadcast addresses are never a receiver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
Network = TypeVar("Network", _V4, _V6)


def _ranges(
    network: Callable[[str], Network], table: Sequence[tuple[str, str]]
) -> tuple[tuple[Network, str], ...]:
    """Each range of the table, parsed, with why an address in it is not public."""
    return tuple((network(text), why) for text, why in table)


# IANA's IPv4 Special-Purpose Address Registry (RFC 6890 and its updates), less the
# ranges that are globally reachable, plus multicast and the reserved 240/4.
_NON_PUBLIC_V4 = _ranges(
    _V4,
    [
        ("0.0.0.0/8", "'this network'"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation (TEST-NET-1)"),
        ("192.31.196.0/24", "AS112 service"),
        ("192.52.193.0/24", "AMT"),
        ("192.88.99.0/24", "deprecated 6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("192.175.48.0/24", "direct delegation AS112 service"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    ],
)
# Public unicast IPv6 is 2000::/3 (RFC 4291); what lies outside it is refused as a whole
# ("not global unicast") after the ranges that embed an IPv4 address are unwrapped.
_GLOBAL_UNICAST_V6 = _V6("2000::/3")
_NON_PUBLIC_V6 = _ranges(
    _V6,
    [
        ("2001::/23", "IETF protocol assignments (Teredo, ORCHID, benchmarking)"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4"),
        ("3fff::/20", "documentation"),
    ],
)
_NAMED_V6 = _ranges(
    _V6,
    [
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("5f00::/16", "SRv6 segment identifiers"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "deprecated site-local"),
        ("ff00::/8", "multicast"),
    ],
)
# Never a receiver, allow_private or not.
_NEVER = {"'this network'", "multicast", "reserved", "unspecified"}
_NAT64 = _V6("64:ff9b::/96")
# A host as urlsplit gives it: a DNS name (IDNA-encoded), an IPv4 literal, or an IPv6
# literal with an optional zone. Anything else never reaches the resolver.
_HOST = re.compile(r"[a-z0-9._\-]+|[0-9a-f:.]+(%[A-Za-z0-9._\-]+)?")


class WebhookAddressError(ValueError):
    """A webhook URL the sender will not deliver to; `str()` says why, for people."""


class InvalidWebhookURL(WebhookAddressError):
    pass


class UnresolvableHost(WebhookAddressError):
    """The name did not resolve (now): at subscription time a 422, at delivery a retry."""


class ForbiddenAddress(WebhookAddressError):
    pass


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and would reach: IPv4-mapped (::ffff:a.b.c.d),
    or NAT64's well-known prefix (64:ff9b::/96, which a translator forwards to that IPv4
    address). The deprecated IPv4-compatible form (::a.b.c.d) reaches nothing today and
    is refused with the rest of the space outside 2000::/3."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(address.packed[12:])
    return None


def _why_not_public(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            return _why_not_public(inner)
        for network, why in _NAMED_V6:
            if address in network:
                return why
        if address not in _GLOBAL_UNICAST_V6:
            return "reserved"
        networks: Sequence[tuple[_V4 | _V6, str]] = _NON_PUBLIC_V6
    else:
        networks = _NON_PUBLIC_V4
    return next((why for network, why in networks if address in network), None)


def address_problem(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why the sender must not connect to `address`, or None when it may."""
    why = _why_not_public(address)
    if why is None or (allow_private and why not in _NEVER):
        return None
    return why


@dataclass(frozen=True)
class Destination:
    """A checked webhook URL and the addresses it resolved to, all allowed, in the
    resolver's order: connect to the first (or to each in turn), never to the name."""

    url: str
    scheme: str
    host: str  # as the URL has it, IDNA-encoded; what Host and the TLS server name carry
    port: int
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True)
class PinnedRequest:
    """What to pass to httpx to reach `address` while speaking to `host`:
    `client.post(p.url, headers={**p.headers, ...}, extensions=p.extensions,
    follow_redirects=False)`."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, str]


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = parts.hostname
    except ValueError as error:
        raise InvalidWebhookURL(f"not a URL: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise InvalidWebhookURL("a webhook URL is http:// or https://")
    if not host:
        raise InvalidWebhookURL("a webhook URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookURL(
            "a webhook URL carries no user or password: the delivery is signed instead"
        )
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as error:
        raise InvalidWebhookURL(f"not a host name: {host!r}") from error
    labels = ascii_host.rstrip(".").split(".")
    if not _HOST.fullmatch(ascii_host) or len(ascii_host) > 253 or max(map(len, labels)) > 63:
        raise InvalidWebhookURL(f"not a host name: {host!r}")
    return scheme, ascii_host, port or (443 if scheme == "https" else 80), parts.path


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses as the operating system resolves them, off the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(sockaddr[0]) for *_, sockaddr in infos]


async def resolve_destination(
    url: str,
    *,
    allow_private: bool = False,
    resolver: Resolver = system_resolver,
    resolve_within: float = 5.0,
) -> Destination:
    """Check `url` and resolve its host; raises a WebhookAddressError saying why not.

    Call it before every delivery attempt (a name's addresses change) and connect to
    what it returns; at subscription time it tells the subscriber at once.
    """
    scheme, host, port, _ = _split(url)
    try:
        async with asyncio.timeout(resolve_within):
            answers = await resolver(host, port)
    except TimeoutError as error:
        raise UnresolvableHost(
            f"{host} does not resolve: timed out after {resolve_within} s"
        ) from error
    except (OSError, UnicodeError) as error:
        raise UnresolvableHost(f"{host} does not resolve: {error}") from error
    addresses: list[IPAddress] = []
    for answer in answers:
        # A scoped IPv6 address (fe80::1%eth0) is judged without its zone.
        address = ipaddress.ip_address(answer.split("%", 1)[0])
        why = address_problem(address, allow_private=allow_private)
        if why is not None:
            hint = "" if why in _NEVER else "; WEBHOOK_ALLOW_PRIVATE=true allows it"
            raise ForbiddenAddress(f"{host} resolves to {address}, a {why} address{hint}")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnresolvableHost(f"{host} resolves to no address")
    return Destination(url.strip(), scheme, host, port, tuple(addresses))


def pinned_request(destination: Destination, address: IPAddress | None = None) -> PinnedRequest:
    """The request that reaches `address` (by default the first one resolved) for
    `destination`: the URL with the address for its host, `Host` with the name (and the
    port when it is not the scheme's), and for https the name as TLS server name, which
    the certificate is verified against."""
    address = destination.addresses[0] if address is None else address
    if address not in destination.addresses:
        raise ValueError(f"{address} is not one of {destination.host}'s checked addresses")
    parts = urlsplit(destination.url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    default_port = 443 if destination.scheme == "https" else 80
    port_suffix = "" if destination.port == default_port else f":{destination.port}"
    url = urlunsplit(
        (destination.scheme, literal + port_suffix, parts.path or "/", parts.query, "")
    )
    host_header = destination.host
    if ":" in host_header:  # an IPv6 literal
        host_header = f"[{host_header}]"
    extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
    return PinnedRequest(url, {"Host": host_header + port_suffix}, extensions)
