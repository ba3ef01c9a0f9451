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
from app.forges.bitbucket import BitbucketClient
from app.forges.forgejo import ForgejoClient
from app.forges.github import GitHubClient
from app.forges.gitlab import GitLabClient
from app.forges.http import Upstream, new_client
from app.forges.pypi import PyPIClient
from app.hosts import host_of


@dataclass(frozen=True, slots=True)
class Forges:
    """The forge clients by repo_url host, and the PyPI client."""

    by_host: Mapping[str, ForgeClient]
    pypi: PypiClient | None = None

    def for_repo(self, repo_url: str) -> tuple[ForgeClient, RepoKey] | None:
        """The client and key of a normalized repo_url, or None when its host is not
        configured (or the URL names no repository)."""
        parts = urlsplit(repo_url)
        if parts.scheme not in {"http", "https"}:
            return None
        host = host_of(repo_url)
        client = self.by_host.get(host)
        segments = [segment for segment in parts.path.split("/") if segment]
        if client is None or len(segments) < 2:
            return None
        if client.name != "gitlab":
            segments = segments[:2]  # only GitLab nests groups
        return client, RepoKey(host, "/".join(segments))


def _bearer(token: SecretStr | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}


def _secret(token: SecretStr | None) -> str | None:
    return token.get_secret_value() if token else None


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

        gitlab_http = await stack.enter_async_context(new_client(settings))
        by_host[settings.gitlab_host] = GitLabClient(
            Upstream.from_settings("gitlab", gitlab_http, settings),
            url=settings.gitlab_url,
            token=_secret(settings.gitlab_token),
            concurrency=settings.upstream_max_in_flight,
        )

        bitbucket_http = await stack.enter_async_context(new_client(settings))
        by_host[settings.bitbucket_host] = BitbucketClient(
            Upstream.from_settings("bitbucket", bitbucket_http, settings),
            api_url=settings.bitbucket_api_url,
            token=_secret(settings.bitbucket_token),
            concurrency=settings.upstream_max_in_flight,
        )

        # Each Forgejo instance is its own upstream: its own budget, pauses and client.
        for host, api_url in settings.forgejo_instances.items():
            forgejo_http = await stack.enter_async_context(new_client(settings))
            by_host[host] = ForgejoClient(
                Upstream.from_settings("forgejo", forgejo_http, settings),
                api_url=api_url,
                token=_secret(settings.forgejo_tokens.get(host)),
                concurrency=settings.upstream_max_in_flight,
            )

        pypi_http = await stack.enter_async_context(new_client(settings))
        pypi: PypiClient | None = PyPIClient(
            Upstream.from_settings("pypi", pypi_http, settings), url=settings.pypi_url
        )

        yield Forges(by_host=by_host, pypi=pypi)
