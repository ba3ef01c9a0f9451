"""The Bitbucket client against a fake Bitbucket Cloud served over loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from app.forges.base import Outcome, Usage
from app.forges.bitbucket import BitbucketClient
from tests.fakes import Fault
from tests.fakes.answers import Commit
from tests.fakes.bitbucket import BitbucketRepo, FakeBitbucket
from tests.forges.serving import NOW, WINDOW_START, Served, ask, served, weeks_ago

HOST = "bitbucket.org"


@dataclass
class World:
    fake: FakeBitbucket
    served: Served

    def client(self, *, anonymous: bool = False, **options: int) -> BitbucketClient:
        return BitbucketClient(
            self.served.upstream,
            api_url=f"{self.served.base}/2.0",
            token=None if anonymous else "bb-token",
            now=lambda: NOW,
            **options,
        )


@pytest_asyncio.fixture
async def bitbucket() -> AsyncIterator[World]:
    fake = FakeBitbucket(token="bb-token")
    async with served(fake.app, "bitbucket") as serving:
        yield World(fake, serving)


def typical() -> BitbucketRepo:
    commits = [Commit(weeks_ago(0, hours=5), "ann")] * 80
    commits += [Commit(weeks_ago(30), "ben")] * 40
    commits += [Commit(weeks_ago(40), None)] * 30  # an author with no Bitbucket account
    commits += [Commit(weeks_ago(60), "old")] * 300  # past the 52 weeks
    return BitbucketRepo(
        "atlassian/python-bitbucket",
        watchers=42,
        forks=7,
        description="A library",
        commits=commits,
    )


def commit_requests(world: World) -> list[str]:
    return [s.query for s in world.served.recorder.seen if "/commits/" in s.path]


async def test_a_repository_maps_to_our_fields(bitbucket: World) -> None:
    bitbucket.fake.add(typical())
    usage = Usage()

    [result] = await bitbucket.client().fetch_many([ask(HOST, "atlassian/python-bitbucket")], usage)

    assert result.outcome is Outcome.OK, result.error
    figures = result.figures
    assert (figures.stars, figures.forks) == (42, 7)  # stars are Bitbucket's watchers
    assert figures.description == "A library"
    assert figures.archived is None  # Bitbucket cannot archive: never touched
    assert figures.participants == ["ann", "ben"]
    totals = figures.commits_over_52
    assert totals is not None and totals[-1] == 80 and totals[-31] == 40 and totals[-41] == 30
    assert sum(totals) == 150
    assert figures.last_commit_at == weeks_ago(0, hours=5)
    # Newest first with no `since`: the second page reaches back past the window, so the
    # walk ends there and never reads the 300 older commits' pages.
    assert len(commit_requests(bitbucket)) == 2
    assert "pagelen=100" in commit_requests(bitbucket)[0]
    seen = bitbucket.served.recorder.seen
    assert [s.path.rsplit("/", 1)[-1] for s in seen[:3]] == [
        "python-bitbucket",
        "watchers",
        "forks",
    ]
    assert "pagelen=1" in seen[1].query
    assert all(s.headers["authorization"] == "Bearer bb-token" for s in seen)
    assert usage.requests["bitbucket"] == 5
    assert set(result.etags) == {"watchers", "forks"}  # commits took two pages


async def test_a_rebased_old_commit_does_not_end_the_walk(bitbucket: World) -> None:
    # Git lists a rebased commit among the new ones, with its old author date.
    recent = [Commit(weeks_ago(1), "new")] * 150
    listed = [*recent[:50], Commit(weeks_ago(80), "rebased"), *recent[50:]]
    listed += [Commit(weeks_ago(90), "old")] * 100
    bitbucket.fake.add(BitbucketRepo("ws/rebased", commits=listed, as_listed=True))

    [result] = await bitbucket.client().fetch_many([ask(HOST, "ws/rebased")], Usage())

    assert result.figures.commits_over_52 is not None
    assert sum(result.figures.commits_over_52) == 150
    assert result.figures.participants == ["new"]
    assert len(commit_requests(bitbucket)) == 2  # the second page ends in the old ones


async def test_an_empty_repository_has_no_activity(bitbucket: World) -> None:
    bitbucket.fake.add(BitbucketRepo("ws/empty", description="", mainbranch=None))

    [result] = await bitbucket.client().fetch_many([ask(HOST, "ws/empty")], Usage())

    assert result.outcome is Outcome.OK
    assert result.figures.description == ""
    assert result.figures.participants == [] and result.figures.commits_over_52 == [0] * 52
    assert commit_requests(bitbucket) == []


async def test_unchanged_resources_answer_304(bitbucket: World) -> None:
    bitbucket.fake.add(BitbucketRepo("ws/r", watchers=3, commits=[Commit(weeks_ago(1), "a")]))
    client = bitbucket.client()
    [first] = await client.fetch_many([ask(HOST, "ws/r")], Usage())
    assert set(first.etags) == {"watchers", "forks", "commits"}
    usage = Usage()

    [again] = await client.fetch_many([ask(HOST, "ws/r", **first.etags)], usage)

    assert again.outcome is Outcome.OK
    assert again.figures.stars is None and again.figures.forks is None
    assert again.figures.commits_over_52 is None and again.figures.participants is None
    assert again.figures.description == ""  # the repository itself is always read
    assert again.etags == first.etags
    assert usage.not_modified["bitbucket"] == 3


async def test_missing_and_private_repositories(bitbucket: World) -> None:
    bitbucket.fake.add(BitbucketRepo("ws/private", private=True))

    missing, private = await bitbucket.client(anonymous=True).fetch_many(
        [ask(HOST, "ws/missing"), ask(HOST, "ws/private")], Usage()
    )

    assert missing.outcome is Outcome.NOT_FOUND and "404" in missing.error
    # Bitbucket says 403 for a private repository: a token problem, not a deletion.
    assert private.outcome is Outcome.FAILED and "403" in private.error


async def test_server_errors_are_retried(bitbucket: World) -> None:
    bitbucket.fake.add(BitbucketRepo("ws/r", watchers=5, commits=[Commit(weeks_ago(1), "a")]))
    bitbucket.fake.faults.add("/ws/r/watchers", Fault(502), times=2)

    [result] = await bitbucket.client().fetch_many([ask(HOST, "ws/r")], Usage())

    assert result.outcome is Outcome.OK and result.figures.stars == 5


async def test_commit_pages_are_bounded(bitbucket: World) -> None:
    bitbucket.fake.add(typical())

    [result] = await bitbucket.client(max_commit_pages=1).fetch_many(
        [ask(HOST, "atlassian/python-bitbucket")], Usage()
    )

    assert result.outcome is Outcome.OK
    assert result.figures.commits_over_52 is None  # not all counted: the old totals stay
    assert result.figures.last_commit_at == weeks_ago(0, hours=5)
    assert len(commit_requests(bitbucket)) == 1


async def test_a_quiet_repository_takes_authors_from_its_newest_commits(bitbucket: World) -> None:
    before = WINDOW_START - dt.timedelta(minutes=1)
    commits = [Commit(before, "last"), Commit(before - dt.timedelta(days=1), "first")]
    bitbucket.fake.add(BitbucketRepo("ws/quiet", commits=commits))

    [result] = await bitbucket.client().fetch_many([ask(HOST, "ws/quiet")], Usage())

    assert result.figures.commits_over_52 == [0] * 52
    assert result.figures.participants == ["last", "first"]
    assert result.figures.last_commit_at == before


async def test_garbage_payloads_fail_without_figures(bitbucket: World) -> None:
    for name in ("size", "offhost", "values"):
        bitbucket.fake.add(BitbucketRepo(f"ws/{name}", commits=[Commit(weeks_ago(1), "a")]))
    bitbucket.fake.faults.add("/ws/size/forks", Fault(200, body={"size": "lots", "values": []}))
    recent = {"date": "2026-11-19T10:00:00+00:00"}
    off_host = {"values": [recent], "next": "https://evil.example/2.0/next"}
    bitbucket.fake.faults.add("/ws/offhost/commits/main", Fault(200, body=off_host))
    bitbucket.fake.faults.add("/ws/values/commits/main", Fault(200, body={"values": None}))
    names = ["size", "offhost", "values"]

    results = await bitbucket.client().fetch_many([ask(HOST, f"ws/{n}") for n in names], Usage())

    for result in results:
        assert result.outcome is Outcome.FAILED
        assert result.figures.forks is None and result.figures.commits_over_52 is None
    assert "size" in results[0].error
    assert "off host" in results[1].error
    assert "values" in results[2].error
    # The off-host link was refused, not followed: the walk ended at the first page.
    assert [p for p in bitbucket.served.paths() if "offhost" in p][-1].endswith("/commits/main")
