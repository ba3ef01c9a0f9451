"""The host of a repo_url picks the client; a host that is not configured is never contacted."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.forges.base import RepoKey, RepoRequest, Usage
from app.forges.registry import open_forges
from tests.forges.conftest import GitHubWorld


async def test_each_configured_host_has_its_client() -> None:
    settings = Settings(
        github_host="github.example.org",
        gitlab_url="https://git.example.org",
        forgejo_instances="codeberg.org=https://codeberg.org/api/v1,forge.example.net=https://forge.example.net/api/v1",
    )
    async with open_forges(settings) as forges:
        cases = {
            "https://github.example.org/owner/repo": ("github", "owner/repo"),
            "https://git.example.org/group/sub/repo": ("gitlab", "group/sub/repo"),
            "https://forge.example.net/owner/repo": ("forgejo", "owner/repo"),
            "https://codeberg.org/owner/repo": ("forgejo", "owner/repo"),
            "https://bitbucket.org/team/repo": ("bitbucket", "team/repo"),
        }
        for url, (name, path) in cases.items():
            found = forges.for_repo(url)
            assert found is not None, url
            client, key = found
            assert (client.name, key.path) == (name, path)
        # github.com is not configured here: GitHub Enterprise replaced it.
        assert forges.for_repo("https://github.com/owner/repo") is None


async def test_each_gitlab_instance_has_its_own_client() -> None:
    settings = Settings(
        gitlab_instances="gitlab.com=https://mirror.example.net,git.example.org=https://git.example.org"
    )
    async with open_forges(settings) as forges:
        public = forges.for_repo("https://gitlab.com/group/sub/a")
        company = forges.for_repo("https://git.example.org/team/backend/b")
        assert public is not None and company is not None
        assert public[0].name == company[0].name == "gitlab"
        assert public[0] is not company[0]  # each its own instance, token and budget
        assert (public[1], company[1]) == (
            RepoKey("gitlab.com", "group/sub/a"),
            RepoKey("git.example.org", "team/backend/b"),
        )
        # The mirror serves gitlab.com's repositories; its own host is not a forge here.
        assert forges.for_repo("https://mirror.example.net/group/sub/a") is None


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/owner/repo",
        "http://169.254.169.254/latest/meta-data",
        "https://github.com.evil.example/owner/repo",
        "https://github.com/owner-only",
        "",
        "file:///etc/passwd",
    ],
)
async def test_a_host_that_is_not_configured_gets_no_client(url: str) -> None:
    async with open_forges(Settings()) as forges:
        assert forges.for_repo(url) is None


async def test_the_fake_sees_requests_only_for_configured_hosts(github: GitHubWorld) -> None:
    # The fake serves on loopback; a repo_url naming that address is a typed URL, not
    # a configured host, so it never reaches the fake.
    fake_host = github.settings.github_api_url.removeprefix("http://")
    assert github.forges.for_repo(f"http://{fake_host}/owner/repo") is None
    assert github.recorder.seen == []

    found = github.forges.for_repo("https://github.com/nobody/nothing")
    assert found is not None
    client, key = found
    assert key == RepoKey("github.com", "nobody/nothing")
    await client.fetch_many([RepoRequest(key)], Usage())
    assert github.recorder.paths() == ["/graphql"]


async def test_the_token_is_sent_and_never_shown(github: GitHubWorld) -> None:
    client, key = github.forges.for_repo("https://github.com/nobody/nothing") or (None, None)
    assert client is not None and key is not None
    await client.fetch_many([RepoRequest(key)], Usage())

    assert github.recorder.seen[0].headers["authorization"] == "Bearer test-token"
    assert "test-token" not in repr(github.settings)
