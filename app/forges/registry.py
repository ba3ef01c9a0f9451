"""Which client serves a repository: chosen by the host of its URL, among configured ones.

`open_forges(settings)` builds one httpx client per upstream (closed on exit) and the
forge clients over them. A repository whose host is not configured gets no client, so no
request ever goes to a host a user typed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from app.config import Settings
from app.forges.base import ForgeClient, PypiClient, RepoKey
from app.forges.github import GitHubClient
from app.forges.http import Upstream, new_client


@dataclass(frozen=True, slots=True)
class Forges:
    """The forge clients by repo_url host, and the PyPI client."""

    by_host: Mapping[str, ForgeClient]
    pypi: PypiClient | None = None

    def for_repo(self, repo_url: str) -> tuple[ForgeClient, RepoKey] | None:
        """The client and key of a normalized repo_url, or None when its host is not
        configured (or the URL names no repository)."""
        parts = urlsplit(repo_url)
        if parts.scheme not in {"http", "https"} or parts.hostname is None:
            return None
        host = parts.hostname.lower()
        if parts.port:
            host = f"{host}:{parts.port}"
        client = self.by_host.get(host)
        segments = [segment for segment in parts.path.split("/") if segment]
        if client is None or len(segments) < 2:
            return None
        if client.name != "gitlab":
            segments = segments[:2]  # only GitLab nests groups
        return client, RepoKey(host, "/".join(segments))


def _bearer(token: SecretStr | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}


@asynccontextmanager
async def open_forges(settings: Settings) -> AsyncIterator[Forges]:
    """Every configured upstream's client, for the length of a refresh run (or the app)."""
    async with AsyncExitStack() as stack:
        by_host: dict[str, ForgeClient] = {}

        github_http = await stack.enter_async_context(
            new_client(
                settings,
                headers={
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": "2022-11-28",
                    **_bearer(settings.github_token),
                },
            )
        )
        by_host[settings.github_host] = GitHubClient(
            Upstream.from_settings("github", github_http, settings, counts_points=True),
            Upstream.from_settings("github", github_http, settings),
            api_url=settings.github_api_url,
            graphql_url=settings.github_graphql_url,
            batch_size=settings.github_batch_size,
        )

        # TODO(3c): GitLab, Forgejo, Bitbucket and PyPI clients, once app/forges/gitlab.py,
        # forgejo.py, bitbucket.py and pypi.py exist.
        pypi: PypiClient | None = None

        yield Forges(by_host=by_host, pypi=pypi)
