"""The docs pages, offline: /docs (Swagger UI) and /redoc load every asset from this service.

The assets are vendored from npm (app/static/docs/README.md says which versions, and
scripts/vendor-docs-assets.sh re-fetches them); no page refers to a CDN or to Google Fonts,
and Swagger UI's online validator is off. The pages hold no inline script (Swagger UI is
started by our swagger-init.js), so a Content-Security-Policy of `script-src 'self'` fits.

Asset URLs carry a digest of the file's content, so they are cached for a year and a new
version is a new URL. Every URL in the pages is relative, so they work under a root path.
Scripts and styles are gzipped once, off the event loop, when first read: compressing the
1.7 MB Swagger UI bundle per request would hold the loop for a fifth of a second.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from app.errors import NotFound
from app.observability.headers import META_PAGE_POLICY

STATIC_DIR = Path(__file__).parent / "static" / "docs"
SWAGGER_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSET_PATH = "/docs/assets/{digest}/{name}"

# Served name -> (file under STATIC_DIR, media type). Nothing else is served from there.
ASSET_FILES: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css; charset=utf-8"),
    "favicon.png": ("swagger-ui/favicon-32x32.png", "image/png"),
    "swagger-init.js": ("swagger-init.js", "text/javascript; charset=utf-8"),
    "redoc.standalone.js": ("redoc/redoc.standalone.js", "text/javascript; charset=utf-8"),
}
IMMUTABLE = "public, max-age=31536000, immutable"

# The pages' own policy, whatever the server's headers say (app.observability.headers).
PAGE_POLICY = META_PAGE_POLICY


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    digest: str

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


@cache
def _read_assets() -> dict[str, Asset]:
    assets = {}
    for name, (file, media_type) in ASSET_FILES.items():
        body = (STATIC_DIR / file).read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:16]
        # mtime=0: the same bytes every time, as a strong ETag requires.
        gzipped = gzip.compress(body, mtime=0) if media_type.startswith("text/") else None
        assets[name] = Asset(body=body, gzipped=gzipped, media_type=media_type, digest=digest)
    return assets


_NO_GZIP = re.compile(r"q=0(\.0{0,3})?")


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (RFC 9110 12.5.3), `q=0` refusing it."""
    for part in accept_encoding.split(","):
        coding, _, parameters = part.partition(";")
        if coding.strip().lower() in {"gzip", "x-gzip", "*"}:
            return not _NO_GZIP.fullmatch(parameters.replace(" ", "").lower())
    return False


async def load_assets() -> dict[str, Asset]:
    """The assets, read from disk once per process, off the event loop (3 MB)."""
    return await anyio.to_thread.run_sync(_read_assets)


def asset_url(assets: dict[str, Asset], name: str) -> str:
    # Relative to the page (/docs or /redoc), so a root path or a proxy prefix carries over.
    return ASSET_PATH.removeprefix("/").format(digest=assets[name].digest, name=name)


def _page(title: str, head: str, body: str) -> str:
    """A docs page: the one policy (PAGE_POLICY), the title, then each page's own parts."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{PAGE_POLICY}">
<title>{html.escape(title)}</title>
{head}</head>
<body>
{body}</body>
</html>
"""


def swagger_page(title: str, openapi_url: str, assets: dict[str, Asset]) -> str:
    def url(name: str) -> str:
        return html.escape(asset_url(assets, name))

    head = f"""<link rel="stylesheet" href="{url("swagger-ui.css")}">
<link rel="icon" type="image/png" href="{url("favicon.png")}">
"""
    body = f"""<div id="swagger-ui" data-openapi-url="{html.escape(openapi_url)}"></div>
<script src="{url("swagger-ui-bundle.js")}"></script>
<script src="{url("swagger-init.js")}"></script>
"""
    return _page(f"{title}: Swagger UI", head, body)


def redoc_page(title: str, openapi_url: str, assets: dict[str, Asset]) -> str:
    def url(name: str) -> str:
        return html.escape(asset_url(assets, name))

    head = f"""<link rel="icon" type="image/png" href="{url("favicon.png")}">
<style>body {{ margin: 0; }}</style>
"""
    body = f"""<redoc spec-url="{html.escape(openapi_url)}"></redoc>
<script src="{url("redoc.standalone.js")}"></script>
"""
    return _page(f"{title}: ReDoc", head, body)


def install_docs(app: FastAPI) -> list[str]:
    """Serve /docs, /redoc and their assets; returns the paths, for MethodsMiddleware."""
    if app.openapi_url is None:
        return []
    # Relative: both pages sit at the top level, next to /openapi.json.
    openapi_url = app.openapi_url.removeprefix("/")
    router = APIRouter(include_in_schema=False)

    @router.get(SWAGGER_PATH)
    async def swagger_ui() -> HTMLResponse:
        page = swagger_page(app.title, openapi_url, await load_assets())
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    @router.get(REDOC_PATH)
    async def redoc() -> HTMLResponse:
        page = redoc_page(app.title, openapi_url, await load_assets())
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    @router.get(ASSET_PATH)
    async def docs_asset(
        request: Request,
        digest: Annotated[str, PathParam()],
        name: Annotated[str, PathParam()],
    ) -> Response:
        asset = (await load_assets()).get(name)
        # Another digest is another version of the file, which this process does not have.
        if asset is None or digest != asset.digest:
            raise NotFound("No such docs asset.")
        headers = {"Cache-Control": IMMUTABLE, "ETag": asset.etag, "Vary": "Accept-Encoding"}
        # The compression middleware gives a gzipped answer its own tag ("…-gzip") and
        # strips that suffix from conditional headers before they reach us.
        held = [
            tag.strip().removeprefix("W/")
            for tag in request.headers.get("if-none-match", "").split(",")
        ]
        if asset.etag in held or "*" in held:
            return Response(status_code=304, headers=headers)
        if asset.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding", "")):
            headers["Content-Encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    app.include_router(router)
    return [SWAGGER_PATH, REDOC_PATH, ASSET_PATH]
