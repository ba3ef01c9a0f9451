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
from app.forges.rest_forge import ClientOptions
from app.hosts import host_of
from app.normalize import canonical_repo_url


@dataclass(frozen=True, slots=True)
class Forges:
    """The forge clients by repo_url host, and the PyPI client."""

    by_host: Mapping[str, ForgeClient]
    pypi: PypiClient | None = None

    def for_repo(self, repo_url: str) -> tuple[ForgeClient, RepoKey] | None:
        """The client and key of a repo_url in any spelling (an imported one is kept as the
        source wrote it: `http://www.github.com/Owner/Repo.git/`), or None when its host is
        not configured (or the URL names no repository)."""
        kinds = {host: client.name for host, client in self.by_host.items()}
        repo_url = canonical_repo_url(repo_url, kinds) or repo_url
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

        async def upstream(name: str) -> Upstream:
            # Each REST forge and instance is its own upstream: its own client (closed on
            # exit), budget and pauses, so one slow or rate-limited instance holds no other.
            http = await stack.enter_async_context(new_client(settings))
            return Upstream.from_settings(name, http, settings)

        def options(token: SecretStr | None) -> ClientOptions:
            return {
                "token": token.get_secret_value() if token else None,
                "concurrency": settings.upstream_max_in_flight,
            }

        for host, url in settings.gitlab_instances.items():
            by_host[host] = GitLabClient(
                await upstream("gitlab"), url=url, **options(settings.gitlab_tokens.get(host))
            )
        for host, api_url in settings.forgejo_instances.items():
            by_host[host] = ForgejoClient(
                await upstream("forgejo"),
                api_url=api_url,
                **options(settings.forgejo_tokens.get(host)),
            )
        by_host[settings.bitbucket_host] = BitbucketClient(
            await upstream("bitbucket"),
            api_url=settings.bitbucket_api_url,
            **options(settings.bitbucket_token),
        )
        pypi: PypiClient | None = PyPIClient(await upstream("pypi"), url=settings.pypi_url)

        yield Forges(by_host=by_host, pypi=pypi)
