"""The docs pages over HTTP: /docs and /redoc use nothing but this service's own files.

The browser's view of the same pages (rendered, with the network cut off) is in
tests/test_docs_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import pytest_asyncio

from app.config import Settings
from app.docs import STATIC_DIR, accepts_gzip
from app.main import create_app

PAGES = ["/docs", "/redoc"]
ROOT = Path(__file__).resolve().parents[1]
_REFERENCE = re.compile(r'\b(?:src|href|spec-url|data-openapi-url)="([^"]*)"')


@pytest_asyncio.fixture
async def docs_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The docs pages read no database; no lifespan needed.
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'docs.db'}"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _references(page: str) -> list[str]:
    return _REFERENCE.findall(page)


@pytest.mark.parametrize("page", PAGES)
async def test_a_docs_page_loads_every_file_from_this_service(
    docs_client: httpx.AsyncClient, page: str
) -> None:
    response = await docs_client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    references = _references(response.text)
    assert len(references) >= 3
    for reference in references:
        # Relative, so the page works under a root path or behind a prefixing proxy.
        assert not urlsplit(reference).scheme and not reference.startswith("/"), reference
        asset = await docs_client.get(urljoin(f"http://testserver{page}", reference))
        assert asset.status_code == 200, reference
    for host in ("cdn.", "jsdelivr", "unpkg", "googleapis", "fastapi.tiangolo.com"):
        assert host not in response.text


@pytest.mark.parametrize("page", PAGES)
async def test_a_docs_page_has_no_inline_script_and_keeps_to_its_own_origin(
    docs_client: httpx.AsyncClient, page: str
) -> None:
    text = (await docs_client.get(page)).text
    # Every <script> has a src: a policy of script-src 'self' allows the page.
    assert re.findall(r"<script\b[^>]*>", text) == re.findall(r"<script src=[^>]*>", text)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert policy is not None
    assert "img-src 'self' data:" in policy.group(1)
    assert "connect-src 'self'" in policy.group(1)


async def test_swagger_ui_never_asks_the_online_validator(
    docs_client: httpx.AsyncClient,
) -> None:
    page = (await docs_client.get("/docs")).text
    init = next(ref for ref in _references(page) if ref.endswith("swagger-init.js"))
    script = (await docs_client.get(f"/{init}")).text
    assert "validatorUrl: null" in script


async def test_assets_are_cached_for_a_year_and_revalidated_by_etag(
    docs_client: httpx.AsyncClient,
) -> None:
    page = (await docs_client.get("/docs")).text
    types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for reference in _references(page):
        if reference == "openapi.json":
            continue
        response = await docs_client.get(f"/{reference}")
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-type"].startswith(types[Path(reference).suffix])
        etag = response.headers["etag"]
        again = await docs_client.get(f"/{reference}", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""


async def test_an_asset_of_another_version_is_a_404_error_body(
    docs_client: httpx.AsyncClient,
) -> None:
    page = (await docs_client.get("/docs")).text
    bundle = next(ref for ref in _references(page) if ref.endswith("swagger-ui-bundle.js"))
    digest = bundle.split("/")[2]
    for url in (
        f"/{bundle.replace(digest, '0' * len(digest))}",
        f"/docs/assets/{digest}/LICENSE",
        f"/docs/assets/{digest}/..%2F..%2Fdocs.py",
    ):
        response = await docs_client.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


async def test_the_docs_work_under_a_root_path(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'docs.db'}"))
    transport = httpx.ASGITransport(app=app, root_path="/directory")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for page in PAGES:
            url = f"http://testserver/directory{page}"
            response = await client.get(url)
            assert response.status_code == 200
            for reference in _references(response.text):
                asset = await client.get(urljoin(url, reference))
                assert asset.status_code == 200, reference


@pytest.mark.parametrize("url", [*PAGES, "/openapi.json"])
async def test_head_and_options_work_on_the_docs(docs_client: httpx.AsyncClient, url: str) -> None:
    options = await docs_client.options(url)
    assert options.status_code == 200
    assert options.headers["allow"] == "GET, HEAD, OPTIONS"
    head = await docs_client.head(url)
    assert head.status_code == 200
    assert head.content == b""


def test_the_vendored_files_are_the_versions_the_notes_and_the_script_name() -> None:
    notes = (STATIC_DIR / "README.md").read_text()
    script = (ROOT / "scripts" / "vendor-docs-assets.sh").read_text()
    pins = dict(re.findall(r"^(SWAGGER_UI|REDOC)_VERSION=(\S+)$", script, re.MULTILINE))
    integrity = dict(re.findall(r"^(SWAGGER_UI|REDOC)_INTEGRITY=(\S+)$", script, re.MULTILINE))
    bundle = (STATIC_DIR / "swagger-ui" / "swagger-ui-bundle.js").read_text()
    redoc = (STATIC_DIR / "redoc" / "redoc.standalone.js").read_text()
    assert f'PACKAGE_VERSION:"{pins["SWAGGER_UI"]}"' in bundle
    assert f'"{pins["REDOC"]}"' in redoc
    for name in ("SWAGGER_UI", "REDOC"):
        assert f"| {pins[name]} |" in notes
        assert integrity[name] in notes
    # The one patch: Redoc's sidebar logo no longer comes from its CDN.
    assert "cdn.redoc.ly" not in redoc
    # The licences travel with the code they cover.
    assert (STATIC_DIR / "swagger-ui" / "LICENSE").is_file()
    assert (STATIC_DIR / "redoc" / "LICENSE").is_file()


async def test_scripts_and_styles_are_sent_gzipped_when_the_client_accepts_it(
    docs_client: httpx.AsyncClient,
) -> None:
    page = (await docs_client.get("/docs")).text
    bundle = next(ref for ref in _references(page) if ref.endswith("swagger-ui-bundle.js"))
    original = (STATIC_DIR / "swagger-ui" / "swagger-ui-bundle.js").read_bytes()

    zipped = await docs_client.get(f"/{bundle}", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(original) // 3
    assert zipped.content == original  # as decoded by the client
    assert "Accept-Encoding" in zipped.headers["vary"]

    plain = await docs_client.get(f"/{bundle}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == original
    # Two representations, two strong tags; each revalidates.
    assert zipped.headers["etag"] != plain.headers["etag"]
    for response, encoding in ((zipped, "gzip"), (plain, "identity")):
        again = await docs_client.get(
            f"/{bundle}",
            headers={"Accept-Encoding": encoding, "If-None-Match": response.headers["etag"]},
        )
        assert again.status_code == 304


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("br, *;q=0", False),
    ],
)
def test_accept_encoding_is_read_as_rfc_9110_says(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected
