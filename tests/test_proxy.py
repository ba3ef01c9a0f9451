"""Behind a proxy and in a browser: trusted forwarded headers, ROOT_PATH, CORS, security
headers on every answer, and gzip whose ETags still work for reads and writes."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from tests.factories import load_seeds

Headers = dict[str, str]
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def _client(app: Any, base_url: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def seeded(connection: AsyncConnection) -> list[dict[str, Any]]:
    return await load_seeds(connection)


# Security headers


async def test_every_kind_of_answer_carries_the_security_headers(
    client: httpx.AsyncClient,
) -> None:
    answers = [
        await client.get("/api/v4/"),
        await client.get("/api/v4/packages/no-such-thing/"),
        await client.get("/nowhere"),
        await client.options("/api/v4/packages/"),
        await client.head("/api/v4/packages/"),
        await client.get("/api/v4/packages"),  # the slash redirect
        await client.post("/api/v4/packages/", content=b"x" * 2_000_000),  # 413
        await client.get("/healthz"),
        await client.get("/metrics"),
        await client.get("/openapi.json"),
    ]
    assert [a.status_code for a in answers] == [200, 404, 404, 200, 200, 301, 413, 200, 200, 200]
    for answer in answers:
        where = f"{answer.request.method} {answer.request.url} {answer.status_code}"
        assert answer.headers["x-content-type-options"] == "nosniff", where
        assert answer.headers["x-frame-options"] == "DENY", where
        assert answer.headers["referrer-policy"] == "no-referrer", where
        assert answer.headers["content-security-policy"].startswith("default-src 'none'"), where
        assert "strict-transport-security" not in answer.headers, where


async def test_the_docs_pages_get_a_policy_that_lets_them_run(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200, path
        policy = page.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'self'"
        # Scripts only from this service: the vendored bundles, no inline code, no CDN.
        assert directives["script-src"] == "'self'"
        assert "'unsafe-inline'" in directives["style-src"]
        assert directives["frame-ancestors"] == "'none'"
        assert "<script>" not in page.text
        # And the scripts the page loads are served.
        for src in page.text.split('src="')[1:]:
            asset = src.split('"', 1)[0]
            assert (await client.get(f"/{asset.lstrip('/')}")).status_code == 200, asset


def test_inline_scripts_are_allowed_by_their_hash() -> None:
    from app.observability.headers import page_policy

    policy = page_policy(b"<html><script>init()</script><script src='/a.js'></script></html>")
    # sha256("init()"), base64.
    assert "script-src 'self' 'sha256-" in policy
    assert policy.count("'sha256-") == 1


async def test_hsts_only_when_the_client_used_https(app_factory: Any, database_url: str) -> None:
    app = await app_factory(Settings(database_url=database_url, trusted_proxies="127.0.0.1"))  # type: ignore[arg-type]
    async with _client(app) as client:
        over_https = await client.get("/api/v4/", headers={"X-Forwarded-Proto": "https"})
        over_http = await client.get("/api/v4/")
    async with _client(app, "https://packages.example.org") as client:
        direct_https = await client.get("/api/v4/packages/missing/")

    assert over_https.headers["strict-transport-security"] == "max-age=31536000"
    assert over_https.json()["packages"].startswith("https://testserver/")
    assert "strict-transport-security" not in over_http.headers
    assert direct_https.headers["strict-transport-security"] == "max-age=31536000"


# Trusted proxies


async def _access_client(app: Any, capsys: pytest.CaptureFixture[str], **headers: str) -> str:
    capsys.readouterr()
    async with _client(app) as client:
        await client.get("/api/v4/", headers=headers)
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    (line,) = [x for x in lines if x["logger"] == "packages_api.access"]
    return str(line["client"])


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("203.0.113.9", "203.0.113.9"),
        # Proxies append: the rightmost address that is not one of ours is the client's.
        ("203.0.113.9, 10.0.0.5", "203.0.113.9"),
        # Whatever the client wrote itself (left) proves nothing.
        ("1.2.3.4, 203.0.113.9, 10.0.0.5", "203.0.113.9"),
    ],
)
async def test_a_trusted_proxy_names_the_client(
    app_factory: Any,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    forwarded_for: str,
    client: str,
) -> None:
    settings = Settings(database_url=database_url, trusted_proxies="127.0.0.1,10.0.0.0/8")  # type: ignore[arg-type]
    app = await app_factory(settings)
    assert await _access_client(app, capsys, **{"X-Forwarded-For": forwarded_for}) == client


async def test_forwarded_headers_from_anyone_else_are_ignored(
    app_factory: Any, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await app_factory(Settings(database_url=database_url, trusted_proxies="10.0.0.0/8"))  # type: ignore[arg-type]
    forged = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
    }
    assert await _access_client(app, capsys, **forged) == "127.0.0.1"
    async with _client(app) as client:
        response = await client.get("/api/v4/", headers=forged)
    assert response.json()["packages"] == "http://testserver/api/v4/packages/"
    assert "strict-transport-security" not in response.headers


# ROOT_PATH


@pytest.fixture
async def prefixed(app_factory: Any, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = await app_factory(Settings(database_url=database_url, root_path="/pkg/"))
    async with _client(app) as client:
        yield client


@pytest.mark.parametrize("path", ["/pkg/api/v4/", "/api/v4/"])
async def test_links_include_the_root_path_whether_or_not_the_proxy_strips_it(
    prefixed: httpx.AsyncClient, path: str
) -> None:
    response = await prefixed.get(path)
    assert response.status_code == 200
    assert response.json()["packages"] == "http://testserver/pkg/api/v4/packages/"


async def test_redirects_and_docs_work_under_the_root_path(prefixed: httpx.AsyncClient) -> None:
    redirect = await prefixed.get("/pkg/api/v4/packages")
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "/pkg/api/v4/packages/"

    docs = await prefixed.get("/pkg/docs")
    assert docs.status_code == 200
    # The page points at the schema relative to itself: /pkg/openapi.json.
    openapi_url = str(httpx.URL("http://testserver/pkg/docs").join("openapi.json"))
    assert 'data-openapi-url="openapi.json"' in docs.text
    schema = await prefixed.get(openapi_url)
    assert schema.status_code == 200
    assert "/api/v4/packages/" in schema.json()["paths"]


async def test_metrics_label_routes_without_the_root_path(prefixed: httpx.AsyncClient) -> None:
    await prefixed.get("/pkg/api/v4/categories/")
    text = (await prefixed.get("/pkg/metrics")).text
    assert 'route="/api/v4/categories/"' in text
    assert 'route="/pkg/api/v4/categories/"' not in text


# CORS


async def test_cors_is_off_unless_configured(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v4/", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
async def cors(app_factory: Any, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = await app_factory(
        Settings(database_url=database_url, cors_origins="https://app.example, https://b.example/")  # type: ignore[arg-type]
    )
    async with _client(app) as client:
        yield client


async def test_a_configured_origin_may_write_with_preconditions(
    cors: httpx.AsyncClient,
) -> None:
    preflight = await cors.options(
        "/api/v4/packages/1/",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, if-match, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    methods = preflight.headers["access-control-allow-methods"]
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= {m.strip() for m in methods.split(",")}
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "if-match", "if-none-match"} <= {h.strip() for h in allowed.split(",")}
    assert preflight.headers["x-content-type-options"] == "nosniff"

    read = await cors.get("/api/v4/", headers={"Origin": "https://b.example"})
    assert read.headers["access-control-allow-origin"] == "https://b.example"
    exposed = read.headers["access-control-expose-headers"].lower()
    assert {"etag", "location", "x-request-id"} <= {h.strip() for h in exposed.split(",")}


async def test_other_origins_get_no_cors_grant(cors: httpx.AsyncClient) -> None:
    preflight = await cors.options(
        "/api/v4/packages/",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    read = await cors.get("/api/v4/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in read.headers


# gzip and ETags


async def test_large_bodies_are_gzipped_and_small_ones_are_not(
    client: httpx.AsyncClient, seeded: list[dict[str, Any]]
) -> None:
    large = await client.get("/api/v4/packages/", headers=GZIP)
    small = await client.get("/api/v4/", headers=GZIP)

    assert large.headers["content-encoding"] == "gzip"
    assert int(large.headers["content-length"]) < len(large.content)
    assert large.json()["count"] == len(seeded)
    vary = {v.strip() for v in large.headers["vary"].split(",")}
    assert vary == {"Accept", "Accept-Encoding", "Authorization"}
    assert "content-encoding" not in small.headers


async def test_the_gzipped_representation_has_its_own_strong_etag(
    client: httpx.AsyncClient, seeded: list[dict[str, Any]]
) -> None:
    zipped = await client.get("/api/v4/packages/", headers=GZIP)
    plain = await client.get("/api/v4/packages/", headers=IDENTITY)
    again = await client.get("/api/v4/packages/", headers=GZIP)

    assert "content-encoding" not in plain.headers
    assert plain.headers["etag"].startswith('"')
    assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    # Same bytes every time: a strong tag is honest.
    assert again.headers["etag"] == zipped.headers["etag"]
    raw = [r async for r in _raw(client, "/api/v4/packages/")]
    assert gzip.decompress(raw[0]) == gzip.decompress(raw[1]) == plain.content
    assert raw[0] == raw[1]


async def _raw(client: httpx.AsyncClient, path: str) -> AsyncIterator[bytes]:
    for _ in range(2):
        async with client.stream("GET", path, headers=GZIP) as response:
            yield b"".join([chunk async for chunk in response.aiter_raw()])


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
async def test_if_none_match_gives_304_through_gzip_with_either_tag(
    client: httpx.AsyncClient, seeded: list[dict[str, Any]], encoding: str
) -> None:
    held = (await client.get("/api/v4/packages/", headers={"Accept-Encoding": encoding})).headers[
        "etag"
    ]
    for accept in ("gzip", "identity"):
        revalidated = await client.get(
            "/api/v4/packages/", headers={"Accept-Encoding": accept, "If-None-Match": held}
        )
        assert revalidated.status_code == 304, (held, accept)
        # The 304 confirms the tag the client holds.
        assert revalidated.headers["etag"] == held


async def test_a_gzip_etag_is_good_for_if_match_on_a_write(
    client: httpx.AsyncClient, seeded: list[dict[str, Any]], write_headers: Headers
) -> None:
    slug = seeded[0]["slug"]
    read = await client.get(f"/api/v4/packages/{slug}/", headers=GZIP)
    assert read.headers["content-encoding"] == "gzip"
    held = read.headers["etag"]
    assert held.endswith('-gzip"')

    first = await client.patch(
        f"/api/v4/packages/{slug}/",
        json={"title": "Renamed"},
        headers={**write_headers, **GZIP, "If-Match": held},
    )
    second = await client.patch(
        f"/api/v4/packages/{slug}/",
        json={"title": "Renamed again"},
        headers={**write_headers, **GZIP, "If-Match": held},
    )

    assert first.status_code == 200, first.text
    assert first.json()["title"] == "Renamed"
    assert first.headers["etag"] != held
    assert second.status_code == 412


async def test_head_has_the_headers_of_a_gzipped_get(
    client: httpx.AsyncClient, seeded: list[dict[str, Any]]
) -> None:
    get = await client.get("/api/v4/packages/", headers=GZIP)
    head = await client.head("/api/v4/packages/", headers=GZIP)

    assert head.content == b""
    for name in ("content-encoding", "content-length", "etag", "vary"):
        assert head.headers[name] == get.headers[name], name


# Settings


def test_proxy_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOT_PATH", "/packages/")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example/ ,")
    settings = Settings()
    assert settings.root_path == "/packages"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


def test_a_root_path_must_be_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOT_PATH", "packages")
    with pytest.raises(ValueError, match="ROOT_PATH must start with /"):
        Settings()
