"""The one hyperlink builder: absolute URLs to our own resources, and parsing them back.

The base is PUBLIC_BASE_URL when set; otherwise the request's scheme and host (which
X-Forwarded-Proto/-Host set only when the peer is a trusted proxy: app.observability.proxy).
"""

from __future__ import annotations

import re
from typing import Literal

from starlette.requests import Request

from app.config import Settings
from app.errors import InvalidHost
from app.hosts import split_host
from app.insights.context import Insight

API_PREFIX = "/api/v4"
Resource = Literal["packages", "categories", "grids"]

# Used with fullmatch(): `$` would also match before a final newline.
_FORWARDED_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def _host_allowed(host: str, allowed: list[str]) -> bool:
    """Django's ALLOWED_HOSTS rule: `*` anything, `.example.org` it and its subdomains."""
    name = split_host(host)[0].rstrip(".")
    for pattern in allowed:
        pattern = pattern.lower()
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith(".") and (name.endswith(pattern) or name == pattern[1:]):
            return True
    return False


def request_base_url(request: Request, settings: Settings) -> str:
    """`scheme://host[/root_path]` of this service as the client reached it, no trailing slash.

    A Host (or trusted X-Forwarded-Host) that is malformed or not in ALLOWED_HOSTS is a 400:
    it would otherwise end up in every hyperlink and Location we send (cache poisoning).
    """
    # A trusted proxy's X-Forwarded-Proto/-Host are already applied to the scope
    # (app.observability.proxy).
    scheme = request.url.scheme
    host = request.headers.get("host", "")
    if not _FORWARDED_HOST.fullmatch(host) or not _host_allowed(host, settings.allowed_hosts):
        raise InvalidHost(f"Invalid Host header {host[:100]!r}; see ALLOWED_HOSTS.")
    if settings.public_base_url:
        return settings.public_base_url
    return f"{scheme}://{host}{request.scope.get('root_path', '').rstrip('/')}"


class Links:
    """Builds and reads our hyperlinks; one instance per request, from its base URL. It
    also carries the request's Insight (settings and instant the package resource's
    answers are computed with), since every rendering of a package holds a Links."""

    __slots__ = ("api", "base", "insight")

    def __init__(self, base: str, insight: Insight | None = None) -> None:
        self.base = base
        self.api = f"{base}{API_PREFIX}"
        self.insight = insight if insight is not None else Insight()

    def root(self) -> str:
        return f"{self.api}/"

    def collection(self, resource: Resource) -> str:
        return f"{self.api}/{resource}/"

    def package(self, key: int | str) -> str:
        return f"{self.api}/packages/{key}/"

    def category(self, key: int | str) -> str:
        return f"{self.api}/categories/{key}/"

    def grid(self, key: int | str) -> str:
        return f"{self.api}/grids/{key}/"

    def feature(self, grid_id: int, feature_id: int) -> str:
        return f"{self.api}/grids/{grid_id}/features/{feature_id}/"

    def membership(self, grid_id: int, package_id: int) -> str:
        return f"{self.api}/grids/{grid_id}/packages/{package_id}/"

    def element(self, grid_id: int, feature_id: int, package_id: int) -> str:
        return f"{self.api}/grids/{grid_id}/features/{feature_id}/elements/{package_id}/"

    def key_from_link(self, value: str, resource: Resource) -> str | None:
        """The id or slug in one of our links to `resource`, or None if it is not one."""
        prefix = self.collection(resource)
        if not value.startswith(prefix):
            return None
        key = value[len(prefix) :].removesuffix("/")
        return key if key and "/" not in key else None
