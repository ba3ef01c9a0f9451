"""Configured forges decide repo_host: GitHub Enterprise, self-hosted GitLab (with its
subgroups), each Forgejo instance; the public hosts keep their meaning."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.normalize import normalize_repo_url, repo_host_of
from tests.factories import create_category, create_package

Headers = dict[str, str]

CONFIGURED = {
    "github_host": "github.example.org",
    "gitlab_url": "https://git.example.org",
    "forgejo_instances": "codeberg.org=https://codeberg.org/api/v1,"
    "forge.example.net=https://forge.example.net/api/v1",
}


@pytest.mark.parametrize(
    ("raw", "url", "host"),
    [
        (
            "https://git.example.org/group/sub/repo/-/tree/main",
            "https://git.example.org/group/sub/repo",
            "gitlab",
        ),
        (
            "git@github.example.org:Team/Tool.git",
            "https://github.example.org/team/tool",
            "github",
        ),
        (
            "https://github.example.org/team/tool/issues/3",
            "https://github.example.org/team/tool",
            "github",
        ),
        ("https://forge.example.net/me/lib", "https://forge.example.net/me/lib", "forgejo"),
        ("https://github.com/django/django", "https://github.com/django/django", "github"),
        ("https://elsewhere.example/a/b/c", "https://elsewhere.example/a/b/c", ""),
    ],
)
async def test_a_package_on_a_configured_forge_gets_its_repo_host(
    app_factory: Callable[[Settings], Awaitable[Any]],
    database_url: str,
    write_headers: Headers,
    raw: str,
    url: str,
    host: str,
) -> None:
    app = await app_factory(Settings(database_url=database_url, **CONFIGURED))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        category = await create_category(client, write_headers, title="Tools")
        created = await create_package(
            client, write_headers, title="Tool", category=category["id"], repo_url=raw
        )
        assert (created["repo_url"], created["repo_host"]) == (url, host)

        # PATCH takes the same path: moving the package to another forge relabels it.
        response = await client.patch(
            f"/api/v4/packages/{created['id']}/",
            json={"repo_url": "https://git.example.org/a/b/c"},
            headers=write_headers,
        )
        assert response.status_code == 200
        assert response.json()["repo_host"] == "gitlab"
        assert response.json()["repo_url"] == "https://git.example.org/a/b/c"


async def test_without_configuration_a_self_hosted_forge_is_unlabelled(
    client: httpx.AsyncClient, write_headers: Headers
) -> None:
    category = await create_category(client, write_headers, title="Tools")
    created = await create_package(
        client,
        write_headers,
        title="Tool",
        category=category["id"],
        repo_url="https://git.example.org/group/sub/repo",
    )

    assert (created["repo_url"], created["repo_host"]) == (
        "https://git.example.org/group/sub/repo",
        "",
    )


def test_the_configured_hosts_come_from_the_settings() -> None:
    hosts = Settings(**CONFIGURED).forge_hosts

    assert hosts == {
        "github.example.org": "github",
        "git.example.org": "gitlab",
        "bitbucket.org": "bitbucket",
        "codeberg.org": "forgejo",
        "forge.example.net": "forgejo",
    }
    assert repo_host_of("https://git.example.org/g/s/r", hosts) == "gitlab"
    assert repo_host_of("https://git.example.org/g/s/r") == ""
    assert normalize_repo_url("https://git.example.org/g/s/r/-/issues", hosts) == (
        "https://git.example.org/g/s/r"
    )
