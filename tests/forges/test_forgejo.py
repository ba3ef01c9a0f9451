"""The Forgejo client against a fake Forgejo instance served over loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from app.config import Settings
from app.forges.base import Outcome, RepoRequest, Usage
from app.forges.forgejo import ForgejoClient
from app.forges.registry import open_forges
from tests.fakes import Fault
from tests.fakes.answers import Commit
from tests.fakes.forgejo import FakeForgejo, ForgejoRepo
from tests.forges.serving import NOW, WINDOW_START, Served, ask, served, weeks_ago

HOST = "codeberg.org"


@dataclass
class World:
    fake: FakeForgejo
    served: Served

    def client(self, *, anonymous: bool = False, **options: int) -> ForgejoClient:
        return ForgejoClient(
            self.served.upstream,
            api_url=f"{self.served.base}/api/v1",
            token=None if anonymous else "cb-token",
            now=lambda: NOW,
            **options,
        )


async def _world(fake: FakeForgejo) -> AsyncIterator[World]:
    async with served(fake.app, "forgejo") as serving:
        yield World(fake, serving)


@pytest_asyncio.fixture
async def forgejo() -> AsyncIterator[World]:
    async for world in _world(FakeForgejo(token="cb-token")):
        yield world


@pytest_asyncio.fixture
async def forgejo_with_etags() -> AsyncIterator[World]:
    async for world in _world(FakeForgejo(token="cb-token", etags=True)):
        yield world


def busy() -> ForgejoRepo:
    commits = [Commit(weeks_ago(0, hours=2), "alice")] * 60
    commits += [Commit(weeks_ago(10), "bob")] * 50
    commits += [Commit(weeks_ago(20), None)] * 10  # an email matching no account
    commits += [Commit(weeks_ago(70), "carol")] * 5  # before the 52 weeks
    return ForgejoRepo(
        "forgejo/forgejo", stars=2500, forks=400, description="Beyond coding.", commits=commits
    )


async def test_a_repository_maps_to_our_fields(forgejo: World) -> None:
    forgejo.fake.add(busy())
    usage = Usage()

    [result] = await forgejo.client().fetch_many([ask(HOST, "forgejo/forgejo")], usage)

    assert result.outcome is Outcome.OK, result.error
    figures = result.figures
    assert (figures.stars, figures.forks, figures.archived) == (2500, 400, False)
    assert figures.description == "Beyond coding."
    assert figures.participants == ["alice", "bob"]  # most commits first; no login, no name
    totals = figures.commits_over_52
    assert totals is not None and len(totals) == 52
    assert totals[-1] == 60 and totals[-11] == 50 and totals[-21] == 10 and sum(totals) == 120
    assert figures.last_commit_at == weeks_ago(0, hours=2)
    assert result.etags == {}  # this instance sends no ETags
    seen = forgejo.served.recorder.seen
    assert [s.path for s in seen] == ["/api/v1/repos/forgejo/forgejo"] + [
        "/api/v1/repos/forgejo/forgejo/commits"
    ] * 3  # 120 commits in pages of 50
    assert all(s.headers["authorization"] == "token cb-token" for s in seen)
    assert "stat=false" in seen[1].query and "files=false" in seen[1].query
    assert "since=2025-11-23T00%3A00%3A00Z" in seen[1].query
    assert usage.requests["forgejo"] == 4


async def test_an_instance_without_since_is_walked_only_to_the_window() -> None:
    fake = FakeForgejo(ignores_since=True)
    repo = busy()
    repo.commits += [Commit(weeks_ago(80), "ancient")] * 200
    fake.add(repo)
    async with served(fake.app, "forgejo") as serving:
        world = World(fake, serving)
        [result] = await world.client().fetch_many([ask(HOST, "forgejo/forgejo")], Usage())

    assert result.figures.commits_over_52 is not None
    assert sum(result.figures.commits_over_52) == 120
    assert result.figures.participants == ["alice", "bob"]  # not the older authors
    # 120 recent commits, then a third page that ends in older ones: seven pages unread.
    assert serving.paths().count("/api/v1/repos/forgejo/forgejo/commits") == 3


async def test_an_instance_is_configured_by_host_with_its_token(forgejo: World) -> None:
    forgejo.fake.add(ForgejoRepo("o/private", private=True, stars=4, commits=[Commit(NOW)]))
    settings = Settings(
        forgejo_instances=f"codeberg.org={forgejo.served.base}/api/v1",
        forgejo_tokens="codeberg.org=cb-token",
    )

    async with open_forges(settings) as forges:
        found = forges.for_repo("https://codeberg.org/o/private")
        assert found is not None
        client, key = found
        [result] = await client.fetch_many([RepoRequest(key)], Usage())

    assert result.outcome is Outcome.OK and result.figures.stars == 4  # the token was sent


async def test_empty_repositories_have_no_activity(forgejo: World) -> None:
    forgejo.fake.add(ForgejoRepo("o/new"))  # Forgejo flags it `empty`
    forgejo.fake.add(ForgejoRepo("o/racy", commits=[Commit(weeks_ago(1), "a")]))
    empty = {"message": "Git Repository is empty.", "url": ""}
    forgejo.fake.faults.add("/o/racy/commits", Fault(409, body=empty))

    flagged, conflict = await forgejo.client().fetch_many(
        [ask(HOST, "o/new"), ask(HOST, "o/racy")], Usage()
    )

    for result in (flagged, conflict):
        assert result.outcome is Outcome.OK, result.error
        assert result.figures.participants == [] and result.figures.commits_over_52 == [0] * 52
        assert result.figures.last_commit_at is None
    assert "/api/v1/repos/o/new/commits" not in forgejo.served.paths()


async def test_unchanged_resources_answer_304(forgejo_with_etags: World) -> None:
    world = forgejo_with_etags
    world.fake.add(ForgejoRepo("o/r", stars=7, commits=[Commit(weeks_ago(3), "a")]))
    client = world.client()
    [first] = await client.fetch_many([ask(HOST, "o/r")], Usage())
    assert set(first.etags) == {"repository", "commits"}
    usage = Usage()

    [again] = await client.fetch_many([ask(HOST, "o/r", **first.etags)], usage)

    assert again.outcome is Outcome.OK
    assert again.figures.stars is None and again.figures.commits_over_52 is None
    assert again.figures.participants is None and again.figures.last_commit_at is None
    assert again.etags == first.etags
    assert usage.not_modified["forgejo"] == 2


async def test_missing_and_private_repositories_are_not_found(forgejo: World) -> None:
    forgejo.fake.add(ForgejoRepo("o/private", private=True, commits=[Commit(weeks_ago(1))]))

    anonymous = await forgejo.client(anonymous=True).fetch_many(
        [ask(HOST, "o/gone"), ask(HOST, "o/private")], Usage()
    )
    [allowed] = await forgejo.client().fetch_many([ask(HOST, "o/private")], Usage())

    assert [r.outcome for r in anonymous] == [Outcome.NOT_FOUND, Outcome.NOT_FOUND]
    assert allowed.outcome is Outcome.OK


async def test_a_renamed_repository_is_followed_and_reported(forgejo: World) -> None:
    repo = forgejo.fake.add(ForgejoRepo("o/new-name", commits=[Commit(weeks_ago(1), "a")]))
    forgejo.fake.rename("o/old-name", repo)

    [result] = await forgejo.client().fetch_many([ask(HOST, "o/old-name")], Usage())

    assert result.outcome is Outcome.OK
    assert result.figures.moved_to == "https://codeberg.example/o/new-name"
    assert result.figures.participants == ["a"]
    # The commits are asked for under the new name, without a second redirect.
    assert forgejo.served.paths()[-1] == "/api/v1/repos/o/new-name/commits"


async def test_server_errors_are_retried(forgejo: World) -> None:
    forgejo.fake.add(ForgejoRepo("o/r", stars=1, commits=[Commit(weeks_ago(1), "a")]))
    forgejo.fake.faults.add("/o/r/commits", Fault(500), times=2)

    [result] = await forgejo.client().fetch_many([ask(HOST, "o/r")], Usage())

    assert result.outcome is Outcome.OK
    assert result.figures.commits_over_52 is not None and sum(result.figures.commits_over_52) == 1


async def test_commit_pages_are_bounded(forgejo: World) -> None:
    forgejo.fake.add(busy())

    [result] = await forgejo.client(max_commit_pages=2).fetch_many(
        [ask(HOST, "forgejo/forgejo")], Usage()
    )

    assert result.outcome is Outcome.OK
    assert result.figures.commits_over_52 is None  # not all counted: the old totals stay
    assert result.figures.last_commit_at == weeks_ago(0, hours=2)
    assert forgejo.served.paths().count("/api/v1/repos/forgejo/forgejo/commits") == 2


async def test_a_quiet_repository_takes_authors_from_its_newest_commits(forgejo: World) -> None:
    before = WINDOW_START - dt.timedelta(seconds=1)
    commits = [Commit(before, "old-hand"), Commit(before - dt.timedelta(days=3), "founder")]
    commits += [Commit(before - dt.timedelta(days=9), "old-hand")]
    forgejo.fake.add(ForgejoRepo("o/quiet", commits=commits))

    [result] = await forgejo.client().fetch_many([ask(HOST, "o/quiet")], Usage())

    assert result.figures.commits_over_52 == [0] * 52
    assert result.figures.participants == ["old-hand", "founder"]
    assert result.figures.last_commit_at == before


async def test_garbage_payloads_fail_without_figures(forgejo: World) -> None:
    forgejo.fake.add(ForgejoRepo("o/nulls", commits=[Commit(weeks_ago(1))]))
    forgejo.fake.add(ForgejoRepo("o/login", commits=[Commit(weeks_ago(1))]))
    forgejo.fake.add(ForgejoRepo("o/naive", commits=[Commit(weeks_ago(1))]))
    nulls = {"full_name": "o/nulls", "html_url": "https://x/o/nulls", "stars_count": None}
    nulls |= {"forks_count": 1, "archived": False}
    forgejo.fake.faults.add("/o/nulls", Fault(200, body=nulls))
    signed = {"committer": {"date": "2026-11-19T10:00:00Z"}}
    bad_login = [{"commit": signed, "author": {"login": 7}}]
    forgejo.fake.faults.add("/o/login/commits", Fault(200, body=bad_login))
    naive = [{"commit": {"committer": {"date": "2026-11-19T10:00:00"}}, "author": None}]
    forgejo.fake.faults.add("/o/naive/commits", Fault(200, body=naive))
    names = ["nulls", "login", "naive"]

    results = await forgejo.client().fetch_many([ask(HOST, f"o/{n}") for n in names], Usage())

    for result in results:
        assert result.outcome is Outcome.FAILED
        assert result.figures.participants is None and result.figures.commits_over_52 is None
    assert "stars_count" in results[0].error
    assert "author.login" in results[1].error
    assert "timezone" in results[2].error
