"""A fake GitHub served over loopback, and settings that point the clients at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from app.config import Settings
from app.forges.github import GitHubClient
from app.forges.registry import Forges, open_forges
from tests.fakes import FakeGitHub, Recorder, serve_on_loopback


@dataclass
class GitHubWorld:
    fake: FakeGitHub
    recorder: Recorder
    settings: Settings
    forges: Forges

    @property
    def client(self) -> GitHubClient:
        client = self.forges.by_host["github.com"]
        assert isinstance(client, GitHubClient)
        return client


@pytest_asyncio.fixture
async def github() -> AsyncIterator[GitHubWorld]:
    fake = FakeGitHub()
    recorder = Recorder(fake.app)
    async with serve_on_loopback(recorder) as base:
        settings = Settings(
            github_api_url=base,
            github_graphql_url=f"{base}/graphql",
            github_token="test-token",
            upstream_max_wait=5.0,
        )
        async with open_forges(settings) as forges:
            yield GitHubWorld(fake, recorder, settings, forges)
