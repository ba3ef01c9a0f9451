"""The SSRF guard: webhooks go to public addresses only (unless WEBHOOK_ALLOW_PRIVATE),
judged by what a name resolves to, and the sender connects to the address that was judged.

Addresses are drawn by hypothesis from each special-purpose range (IANA's registries,
written out here as the specification), from their IPv4-mapped and NAT64 forms, and from
the whole address space against the standard library's `ipaddress` as a second opinion.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
import pytest
import trustme
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from app.webhooks.addresses import (
    Destination,
    ForbiddenAddress,
    InvalidWebhookURL,
    UnresolvableHost,
    address_problem,
    pinned_request,
    resolve_destination,
)
from app.webhooks.signing import SIGNATURE_HEADER, delivery_headers, verify
from tests.fakes.server import serve_on_loopback

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

# (range, refused even with allow_private)
REFUSED_V4 = [
    ("0.0.0.0/8", True),  # "this network"; 0.0.0.0 is the unspecified address
    ("10.0.0.0/8", False),
    ("100.64.0.0/10", False),  # carrier-grade NAT
    ("127.0.0.0/8", False),
    ("169.254.0.0/16", False),  # link-local, where cloud metadata services answer
    ("172.16.0.0/12", False),
    ("192.0.0.0/24", False),
    ("192.0.2.0/24", False),
    ("192.31.196.0/24", False),  # AS112, AMT: anycast services, no receiver lives there
    ("192.52.193.0/24", False),
    ("192.88.99.0/24", False),
    ("192.168.0.0/16", False),
    ("192.175.48.0/24", False),
    ("198.18.0.0/15", False),
    ("198.51.100.0/24", False),
    ("203.0.113.0/24", False),
    ("224.0.0.0/4", True),  # multicast
    ("240.0.0.0/4", True),  # reserved, and 255.255.255.255
]
REFUSED_V6 = [
    ("::/128", True),
    ("::1/128", False),
    ("100::/64", False),
    ("2001::/23", False),
    ("2001:db8::/32", False),
    ("2002::/16", False),
    ("3fff::/20", False),
    ("64:ff9b:1::/48", False),
    ("fc00::/7", False),
    ("fe80::/10", False),
    ("fec0::/10", False),
    ("ff00::/8", True),
    ("4000::/2", True),  # outside 2000::/3, the global unicast space: unassigned
    ("::808:800/120", True),  # IPv4-compatible ::8.8.8.x, deprecated (RFC 4291 2.5.5.1)
]
PUBLIC = ["93.184.216.34", "1.1.1.1", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946"]


def in_network(network: str) -> st.SearchStrategy[IP]:
    net = ipaddress.ip_network(network)
    return st.ip_addresses(network=net)


def fixed(*answers: str) -> object:
    async def resolver(host: str, port: int) -> Sequence[str]:
        return answers

    return resolver


@pytest.mark.parametrize(("network", "never"), REFUSED_V4 + REFUSED_V6)
@given(data=st.data())
def test_every_special_purpose_range_is_refused(
    network: str, never: bool, data: st.DataObject
) -> None:
    address = data.draw(in_network(network))

    assert address_problem(address) is not None
    assert (address_problem(address, allow_private=True) is not None) is never


@pytest.mark.parametrize(("network", "never"), REFUSED_V4)
@given(data=st.data())
def test_ipv4_inside_ipv6_is_judged_as_the_ipv4_it_reaches(
    network: str, never: bool, data: st.DataObject
) -> None:
    inner = data.draw(in_network(network))
    assert isinstance(inner, ipaddress.IPv4Address)
    for wrapped in [
        ipaddress.IPv6Address(f"::ffff:{inner}"),  # IPv4-mapped
        ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(inner)),  # NAT64
    ]:
        assert address_problem(wrapped) is not None, wrapped
        assert (address_problem(wrapped, allow_private=True) is not None) is never


@pytest.mark.parametrize("address", [*PUBLIC, "::ffff:93.184.216.34", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


def _python_says_public(address: IP) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    elif isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network(
        "64:ff9b::/96"
    ):
        address = ipaddress.IPv4Address(address.packed[12:])
    return address.is_global and not address.is_multicast and not address.is_reserved


@given(st.ip_addresses())
def test_nothing_allowed_is_anything_but_global_unicast_to_the_standard_library(
    address: IP,
) -> None:
    if address_problem(address) is None:
        assert _python_says_public(address), address


@given(st.ip_addresses(v=4))
def test_ipv4_the_standard_library_calls_global_is_allowed_outside_the_listed_ranges(
    address: ipaddress.IPv4Address,
) -> None:
    listed = any(address in ipaddress.ip_network(network) for network, _ in REFUSED_V4)
    if not listed and _python_says_public(address):
        assert address_problem(address) is None, address


@given(st.ip_addresses(v=6, network="2000::/3"))
def test_global_unicast_ipv6_is_allowed_outside_the_listed_ranges(
    address: ipaddress.IPv6Address,
) -> None:
    if not any(address in ipaddress.ip_network(network) for network, _ in REFUSED_V6):
        assert address_problem(address) is None, address


async def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    destination = await resolve_destination(
        "https://hooks.example.org/in?x=1", resolver=fixed(*PUBLIC[:2], PUBLIC[0])
    )
    assert destination == Destination(
        "https://hooks.example.org/in?x=1",
        "https",
        "hooks.example.org",
        443,
        (ipaddress.ip_address(PUBLIC[0]), ipaddress.ip_address(PUBLIC[1])),
    )

    with pytest.raises(ForbiddenAddress, match=r"10\.1\.2\.3, a private address.*ALLOW_PRIVATE"):
        await resolve_destination(
            "https://hooks.example.org/", resolver=fixed(PUBLIC[0], "10.1.2.3")
        )


async def test_metadata_services_and_their_disguises_are_refused() -> None:
    for answer in ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "fe80::1%eth0"]:
        with pytest.raises(ForbiddenAddress):
            await resolve_destination("http://metadata.example/", resolver=fixed(answer))


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/hook",
        "http://127.0.0.1/",
        "http://127.1/",  # inet_aton's short form
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.0.0.1/",  # and in hexadecimal
        "http://[::1]:9000/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:8000/",
    ],
)
async def test_loopback_under_any_spelling_is_refused_by_the_real_resolver(url: str) -> None:
    with pytest.raises(ForbiddenAddress, match=r"loopback|this network|unspecified"):
        await resolve_destination(url)


async def test_allow_private_lets_loopback_through_but_never_unspecified_or_multicast() -> None:
    destination = await resolve_destination("http://127.0.0.1:8000/hook", allow_private=True)
    assert destination.addresses == (ipaddress.ip_address("127.0.0.1"),)
    assert destination.port == 8000

    never = ["0.0.0.0", "224.0.0.1", "255.255.255.255", "::", "ff02::1"]  # noqa: S104 (answers)
    for answer in never:
        with pytest.raises(ForbiddenAddress) as refused:
            await resolve_destination(
                "http://x.example/", allow_private=True, resolver=fixed(answer)
            )
        assert "ALLOW_PRIVATE" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/",
        "file:///etc/passwd",
        "gopher://example.org/",
        "http:///path",
        "https://user:pass@example.org/",
        "http://[::1/",
        "http://exa mple.org/",
        "http://example.org:99999/",
        "http://" + "a" * 64 + ".example/",
        "example.org/hook",
    ],
)
async def test_urls_that_are_not_http_to_a_host_are_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookURL):
        await resolve_destination(url, resolver=fixed(PUBLIC[0]))


async def test_a_name_that_does_not_resolve_or_not_in_time_is_unresolvable() -> None:
    async def failing(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def hanging(host: str, port: int) -> Sequence[str]:
        await asyncio.sleep(60)
        return [PUBLIC[0]]

    with pytest.raises(UnresolvableHost, match="does not resolve"):
        await resolve_destination("https://nowhere.example/", resolver=failing)
    with pytest.raises(UnresolvableHost, match="timed out"):
        await resolve_destination("https://slow.example/", resolver=hanging, resolve_within=0.05)
    with pytest.raises(UnresolvableHost, match="no address"):
        await resolve_destination("https://empty.example/", resolver=fixed())


def test_a_pinned_request_connects_to_the_address_and_speaks_to_the_name() -> None:
    plain = Destination(
        "http://hooks.example.org:8080/in?x=1",
        "http",
        "hooks.example.org",
        8080,
        (ipaddress.ip_address("93.184.216.34"),),
    )
    pinned = pinned_request(plain)
    assert pinned.url == "http://93.184.216.34:8080/in?x=1"
    assert pinned.headers == {"Host": "hooks.example.org:8080"}
    assert pinned.extensions == {}

    tls = Destination(
        "https://hooks.example.org",
        "https",
        "hooks.example.org",
        443,
        (ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"),),
    )
    pinned = pinned_request(tls)
    assert pinned.url == "https://[2606:2800:220:1:248:1893:25c8:1946]/"
    assert pinned.headers == {"Host": "hooks.example.org"}
    assert pinned.extensions == {"sni_hostname": "hooks.example.org"}
    with pytest.raises(ValueError, match="not one of"):
        pinned_request(tls, ipaddress.ip_address("127.0.0.1"))


async def test_a_signed_delivery_through_a_pinned_request_reaches_a_loopback_receiver() -> None:
    """The integration's recipe end to end: check, pin, sign, POST with httpx."""
    received: list[tuple[str, bytes, str]] = []

    async def receiver(scope, receive, send):  # type: ignore[no-untyped-def]
        request = Request(scope, receive)
        body = await request.body()
        received.append((request.headers["host"], body, request.headers[SIGNATURE_HEADER]))
        await PlainTextResponse("", status_code=204)(scope, receive, send)

    async with serve_on_loopback(receiver) as base:
        port = int(base.rsplit(":", 1)[1])
        destination = await resolve_destination(
            f"http://localhost:{port}/hooks", allow_private=True
        )
        pinned = pinned_request(destination)
        body = b'{"seq": 1, "kind": "created"}'
        headers = delivery_headers(
            "s3cret", body, delivery_id="d-1", timestamp=1_700_000_000, event="package.created"
        )
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.post(
                pinned.url,
                content=body,
                headers={**pinned.headers, **headers},
                extensions=pinned.extensions,
                follow_redirects=False,
            )
    assert response.status_code == 204
    [(host, got, signature)] = received
    assert host == f"localhost:{port}"
    assert got == body
    assert verify("s3cret", got, signature)


@asynccontextmanager
async def tls_receiver(certificate: trustme.LeafCert) -> AsyncIterator[int]:
    """An HTTPS server on 127.0.0.1 presenting `certificate`; yields its port."""

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        await PlainTextResponse(Request(scope).headers["host"])(scope, receive, send)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    with (
        certificate.private_key_pem.tempfile() as key,
        certificate.cert_chain_pems[0].tempfile() as cert,
    ):
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ssl_keyfile=key,
            ssl_certfile=cert,
            # A refused handshake leaves a connection the server would wait out on exit.
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.005)
            yield sock.getsockname()[1]
        finally:
            server.should_exit = True
            await task
            sock.close()


async def test_tls_to_a_pinned_address_verifies_the_certificate_against_the_name() -> None:
    """Connecting to an IP must not weaken TLS: the server name sent and checked is the
    URL's host, so the right certificate passes and another name's is refused."""
    authority = trustme.CA()
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)

    async with httpx.AsyncClient(verify=client_context, trust_env=False) as client:
        for certificate_name, accepted in [("hooks.test", True), ("other.test", False)]:
            async with tls_receiver(authority.issue_cert(certificate_name)) as port:
                destination = await resolve_destination(
                    f"https://hooks.test:{port}/in", allow_private=True, resolver=fixed("127.0.0.1")
                )
                pinned = pinned_request(destination)
                assert pinned.url == f"https://127.0.0.1:{port}/in"
                if accepted:
                    response = await client.get(
                        pinned.url, headers=pinned.headers, extensions=pinned.extensions
                    )
                    assert response.text == f"hooks.test:{port}"
                else:
                    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                        await client.get(
                            pinned.url, headers=pinned.headers, extensions=pinned.extensions
                        )


async def test_a_sender_without_idle_connections_checks_each_name_on_a_shared_address() -> None:
    """httpx pools connections by the pinned address: kept alive, the connection made for
    hooks.test would carry a request for other.test, whose certificate was never checked.
    The sender's client keeps no idle connections, so each delivery checks its own name."""
    authority = trustme.CA()
    context = ssl.create_default_context()
    authority.configure_trust(context)

    async def get(client: httpx.AsyncClient, name: str, port: int) -> httpx.Response:
        destination = await resolve_destination(
            f"https://{name}:{port}/", allow_private=True, resolver=fixed("127.0.0.1")
        )
        pinned = pinned_request(destination)
        return await client.get(pinned.url, headers=pinned.headers, extensions=pinned.extensions)

    async with tls_receiver(authority.issue_cert("hooks.test")) as port:
        async with httpx.AsyncClient(verify=context, trust_env=False) as pooling:
            assert (await get(pooling, "hooks.test", port)).status_code == 200
            reused = await get(pooling, "other.test", port)  # the hazard, shown
            assert reused.text == f"other.test:{port}"

        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(verify=context, trust_env=False, limits=limits) as sender:
            assert (await get(sender, "hooks.test", port)).status_code == 200
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await get(sender, "other.test", port)
