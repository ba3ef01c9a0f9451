"""The GitLab client against a fake GitLab served over loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from app.forges.base import Outcome, Usage
from app.forges.gitlab import GitLabClient
from tests.fakes import Fault
from tests.fakes.answers import Commit
from tests.fakes.gitlab import FakeGitLab, GitLabProject
from tests.forges.serving import NOW, WINDOW_START, Served, ask, served, weeks_ago

HOST = "gitlab.com"


@dataclass
class World:
    fake: FakeGitLab
    served: Served

    def client(self, **options: int) -> GitLabClient:
        return GitLabClient(
            self.served.upstream, url=self.served.base, token="glpat-x", now=lambda: NOW, **options
        )


@pytest_asyncio.fixture
async def gitlab() -> AsyncIterator[World]:
    fake = FakeGitLab(token="glpat-x")
    async with served(fake.app, "gitlab") as serving:
        yield World(fake, serving)


def typical() -> GitLabProject:
    commits = [Commit(weeks_ago(0, hours=1))] * 3  # this week
    commits += [Commit(weeks_ago(1))] * 2
    commits += [Commit(weeks_ago(50))] * 245  # three pages of 100 in all
    commits += [Commit(weeks_ago(60))] * 4  # older than the 52 weeks
    return GitLabProject(
        "inkscape/extras/extensions",
        stars=1234,
        forks=56,
        description="Extensions for Inkscape",
        archived=True,
        contributors=[
            ("Ada", "ada@example.org", 40),
            ("Bob", "bob@example.org", 90),
            ("Ada", "ada@work.example", 7),  # the same person, another email
            ("Cy", "cy@example.org", 3),
        ],
        commits=commits,
    )


async def test_a_project_maps_to_our_fields(gitlab: World) -> None:
    gitlab.fake.add(typical())
    usage = Usage()

    [result] = await gitlab.client().fetch_many([ask(HOST, "inkscape/extras/extensions")], usage)

    assert result.outcome is Outcome.OK, result.error
    figures = result.figures
    assert (figures.stars, figures.forks, figures.archived) == (1234, 56, True)
    assert figures.description == "Extensions for Inkscape"
    assert figures.participants == ["Bob", "Ada", "Cy"]  # most commits first, each name once
    assert figures.commits_over_52 is not None
    assert len(figures.commits_over_52) == 52
    assert figures.commits_over_52[-1] == 3 and figures.commits_over_52[-2] == 2
    assert figures.commits_over_52[1] == 245 and sum(figures.commits_over_52) == 250
    assert figures.last_commit_at == weeks_ago(0, hours=1)
    assert figures.moved_to is None
    assert set(result.etags) == {"project", "contributors"}  # commits took three pages
    # The whole path is one encoded segment, and the token goes as PRIVATE-TOKEN.
    seen = gitlab.served.recorder.seen
    assert seen[0].path == "/api/v4/projects/inkscape/extras/extensions"
    assert all(s.headers["private-token"] == "glpat-x" for s in seen)
    commit_queries = [s.query for s in seen if s.path.endswith("/repository/commits")]
    assert len(commit_queries) == 3
    assert "since=2025-11-23T00%3A00%3A00Z" in commit_queries[0]
    assert usage.requests["gitlab"] == 5


async def test_pages_are_followed_by_the_link_header_alone() -> None:
    fake = FakeGitLab(page_headers=False)
    fake.add(typical())
    async with served(fake.app, "gitlab") as serving:
        client = GitLabClient(serving.upstream, url=serving.base, now=lambda: NOW)
        [result] = await client.fetch_many([ask(HOST, "inkscape/extras/extensions")], Usage())

    assert result.figures.commits_over_52 is not None
    assert sum(result.figures.commits_over_52) == 250
    assert len([p for p in serving.paths() if p.endswith("/repository/commits")]) == 3


async def test_a_subgroup_path_sent_unencoded_would_find_nothing(gitlab: World) -> None:
    # The fake reads the raw path as GitLab does: proof the client encodes the slashes.
    gitlab.fake.add(GitLabProject("a/b/c"))
    [found] = await gitlab.client().fetch_many([ask(HOST, "a/b/c")], Usage())
    raw = gitlab.served.recorder.seen[0]
    assert found.outcome is Outcome.OK
    assert raw.path == "/api/v4/projects/a/b/c"  # decoded by the recorder, encoded on the wire


async def test_null_description_and_an_empty_repository(gitlab: World) -> None:
    gitlab.fake.add(GitLabProject("g/empty", description=None, default_branch=None))

    [result] = await gitlab.client().fetch_many([ask(HOST, "g/empty")], Usage())

    assert result.outcome is Outcome.OK
    assert result.figures.description == ""
    assert result.figures.participants == []
    assert result.figures.commits_over_52 == [0] * 52
    assert result.figures.last_commit_at is None
    assert gitlab.served.paths() == ["/api/v4/projects/g/empty"]  # nothing else to ask


async def test_unchanged_resources_answer_304_and_leave_figures_alone(gitlab: World) -> None:
    gitlab.fake.add(GitLabProject("g/p", stars=5, commits=[Commit(weeks_ago(2))]))
    client = gitlab.client()
    [first] = await client.fetch_many([ask(HOST, "g/p")], Usage())
    assert set(first.etags) == {"project", "contributors", "commits"}
    usage = Usage()

    [again] = await client.fetch_many([ask(HOST, "g/p", **first.etags)], usage)

    assert again.outcome is Outcome.OK
    assert again.figures.stars is None and again.figures.participants is None
    assert again.figures.commits_over_52 is None and again.figures.last_commit_at is None
    assert again.etags == first.etags
    assert usage.not_modified["gitlab"] == 3

    gitlab.fake.projects["g/p"].stars = 6
    [changed] = await client.fetch_many([ask(HOST, "g/p", **first.etags)], Usage())
    assert changed.figures.stars == 6
    assert changed.etags["project"] != first.etags["project"]


async def test_a_new_week_does_not_reuse_the_commits_etag(gitlab: World) -> None:
    gitlab.fake.add(GitLabProject("g/p", commits=[Commit(weeks_ago(2))]))
    [first] = await gitlab.client().fetch_many([ask(HOST, "g/p")], Usage())
    next_week = GitLabClient(
        gitlab.served.upstream, url=gitlab.served.base, now=lambda: NOW + dt.timedelta(days=7)
    )

    [later] = await next_week.fetch_many([ask(HOST, "g/p", **first.etags)], Usage())

    # The same commit has moved one bucket back, so the totals had to be recounted.
    assert first.figures.commits_over_52 is not None and later.figures.commits_over_52 is not None
    assert first.figures.commits_over_52[-3] == 1 and later.figures.commits_over_52[-4] == 1


async def test_missing_and_private_projects_are_not_found(gitlab: World) -> None:
    gitlab.fake.add(GitLabProject("g/secret", private=True, stars=9))
    anonymous = GitLabClient(gitlab.served.upstream, url=gitlab.served.base, now=lambda: NOW)

    results = await anonymous.fetch_many([ask(HOST, "g/missing"), ask(HOST, "g/secret")], Usage())
    [with_token] = await gitlab.client().fetch_many([ask(HOST, "g/secret")], Usage())

    assert [r.outcome for r in results] == [Outcome.NOT_FOUND, Outcome.NOT_FOUND]
    assert "404" in results[0].error and results[0].figures.stars is None
    assert with_token.outcome is Outcome.OK and with_token.figures.stars == 9


async def test_a_renamed_project_says_where_it_went(gitlab: World) -> None:
    project = gitlab.fake.add(GitLabProject("new-group/tool"))
    gitlab.fake.rename("old-group/tool", project)

    [result] = await gitlab.client().fetch_many([ask(HOST, "old-group/tool")], Usage())

    assert result.outcome is Outcome.OK
    assert result.figures.moved_to == "https://gitlab.example/new-group/tool"


async def test_a_project_moved_on_a_mirror_stays_on_the_repositorys_host(gitlab: World) -> None:
    # GITLAB_INSTANCES=gitlab.com=<mirror>: the mirror's web_url is its own.
    gitlab.fake.external_url = gitlab.served.base
    project = gitlab.fake.add(GitLabProject("new-group/tool"))
    gitlab.fake.rename("old-group/tool", project)
    mirror_host = gitlab.served.base.removeprefix("http://")

    [on_gitlab_com] = await gitlab.client().fetch_many([ask(HOST, "old-group/tool")], Usage())
    [on_itself] = await gitlab.client().fetch_many([ask(mirror_host, "old-group/tool")], Usage())

    assert on_gitlab_com.figures.moved_to == "https://gitlab.com/new-group/tool"
    # An instance serving its own host says where the project went, as GitLab gives it.
    assert on_itself.figures.moved_to == f"{gitlab.served.base}/new-group/tool"


async def test_server_errors_are_retried_then_answered(gitlab: World) -> None:
    gitlab.fake.add(GitLabProject("g/p", stars=3, commits=[Commit(weeks_ago(3))]))
    gitlab.fake.faults.add("/api/v4/projects/g/p", Fault(502), times=2)
    usage = Usage()

    [result] = await gitlab.client().fetch_many([ask(HOST, "g/p")], usage)

    assert result.outcome is Outcome.OK and result.figures.stars == 3
    assert usage.requests["gitlab"] == 2 + 3  # two 502s, then project, contributors, commits


async def test_a_repository_that_keeps_failing_fails_alone(gitlab: World) -> None:
    gitlab.fake.add(GitLabProject("g/ok", stars=1))
    gitlab.fake.add(GitLabProject("g/down", stars=2))
    gitlab.fake.faults.add("/api/v4/projects/g/down", Fault(503), times=10)

    ok, down = await gitlab.client().fetch_many([ask(HOST, "g/ok"), ask(HOST, "g/down")], Usage())

    assert ok.outcome is Outcome.OK and ok.figures.stars == 1
    assert down.outcome is Outcome.FAILED
    assert "503" in down.error and down.figures.stars is None and down.etags == {}


async def test_commit_pages_are_bounded(gitlab: World) -> None:
    gitlab.fake.add(typical())

    [result] = await gitlab.client(max_commit_pages=2).fetch_many(
        [ask(HOST, "inkscape/extras/extensions")], Usage()
    )

    assert result.outcome is Outcome.OK
    assert result.figures.commits_over_52 is None  # too many to count: the old totals stay
    assert result.figures.last_commit_at == weeks_ago(0, hours=1)
    assert "commits" not in result.etags
    commits_asked = [p for p in gitlab.served.paths() if p.endswith("/repository/commits")]
    assert len(commits_asked) == 2


async def test_participants_stop_at_500(gitlab: World) -> None:
    people = [(f"dev{i:03}", f"dev{i}@example.org", 1000 - i) for i in range(700)]
    gitlab.fake.add(GitLabProject("g/big", contributors=people))

    [result] = await gitlab.client().fetch_many([ask(HOST, "g/big")], Usage())

    assert result.figures.participants == [f"dev{i:03}" for i in range(500)]
    asked = [p for p in gitlab.served.paths() if p.endswith("/contributors")]
    assert len(asked) == 5
    assert "contributors" not in result.etags  # a list of several pages is not conditional


async def test_a_quiet_project_still_has_its_last_commit_date(gitlab: World) -> None:
    old = WINDOW_START - dt.timedelta(seconds=1)
    gitlab.fake.add(GitLabProject("g/quiet", commits=[Commit(old), Commit(old - dt.timedelta(1))]))

    [result] = await gitlab.client().fetch_many([ask(HOST, "g/quiet")], Usage())

    assert result.figures.commits_over_52 == [0] * 52
    assert result.figures.last_commit_at == old
    last = gitlab.served.recorder.seen[-1]
    assert last.path.endswith("/repository/commits") and "since" not in last.query


async def test_a_hidden_repository_keeps_the_old_activity(gitlab: World) -> None:
    gitlab.fake.add(GitLabProject("g/p", stars=4, repository_hidden=True))

    [result] = await gitlab.client().fetch_many([ask(HOST, "g/p")], Usage())

    assert result.outcome is Outcome.OK and result.figures.stars == 4
    assert result.figures.participants is None and result.figures.commits_over_52 is None


async def test_garbage_payloads_fail_without_figures(gitlab: World) -> None:
    spoiled = {"count": {"star_count": "many"}, "huge": {"star_count": 2**40}}
    spoiled |= {"null": {"archived": None}}
    for name, fields in spoiled.items():
        project = gitlab.fake.add(GitLabProject(f"g/{name}"))
        body = {**gitlab.fake.project_json(project), **fields}
        gitlab.fake.faults.add(f"/projects/g/{name}", Fault(200, body=body))
    gitlab.fake.add(GitLabProject("g/html"))
    gitlab.fake.faults.add("/projects/g/html", Fault(200, body=b"<html>Bad Gateway</html>"))
    gitlab.fake.add(GitLabProject("g/date"))
    bad_date = [{"committed_date": "yesterday"}]
    gitlab.fake.faults.add("/g/date/repository/commits", Fault(200, body=bad_date))
    names = [*spoiled, "html", "date"]

    results = await gitlab.client().fetch_many([ask(HOST, f"g/{n}") for n in names], Usage())

    for name, result in zip(names, results, strict=True):
        assert result.outcome is Outcome.FAILED, name
        assert result.figures.stars is None and result.figures.commits_over_52 is None
        assert result.etags == {}
    errors = dict(zip(names, (r.error for r in results), strict=True))
    assert "star_count" in errors["count"] and "star_count" in errors["huge"]
    assert "archived" in errors["null"]
    assert "Invalid JSON" in errors["html"]
    assert "committed_date" in errors["date"]


async def test_an_undecodable_body_is_a_failure_not_a_crash(gitlab: World) -> None:
    gitlab.fake.add(GitLabProject("g/p"))
    gzip_lie = Fault(200, headers={"content-encoding": "gzip"}, body=b"plain text")
    gitlab.fake.faults.add("/projects/g/p", gzip_lie)

    [result] = await gitlab.client().fetch_many([ask(HOST, "g/p")], Usage())

    assert result.outcome is Outcome.FAILED and "DecodingError" in result.error
    assert "internal error" not in result.error  # an upstream fault, not a bug of ours
