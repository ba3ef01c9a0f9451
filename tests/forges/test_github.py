"""The GitHub client against the fake GitHub over loopback: every quirk it must survive."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from graphql import parse

from app.forges.base import Outcome, RepoKey, RepoRequest, RepoResult, Usage
from app.forges.github import (
    WEEKLY_BATCH,
    build_batch_query,
    build_history_query,
    build_weekly_query,
)
from tests.fakes import FakeRepo, Fault
from tests.fakes.github import query_cost
from tests.fakes.schema import query_errors
from tests.forges.conftest import GitHubWorld


def ask(*paths: str, etags: dict[str, dict[str, str]] | None = None) -> list[RepoRequest]:
    return [RepoRequest(RepoKey("github.com", p), (etags or {}).get(p, {})) for p in paths]


async def fetch(github: GitHubWorld, requests: list[RepoRequest]) -> tuple[list[RepoResult], Usage]:
    usage = Usage()
    return await github.client.fetch_many(requests, usage), usage


async def test_figures_in_our_fields_meanings(github: GitHubWorld) -> None:
    weeks = list(range(52))
    github.fake.add(
        FakeRepo(
            "Django",
            "Django",
            stars=80000,
            forks=32000,
            description="The web framework",
            contributors=["adrian", "jacob", "simon"],
            weeks=weeks,
            last_commit=dt.datetime(2026, 11, 21, 8, 30, tzinfo=dt.UTC),
        )
    )
    github.fake.add(FakeRepo("a", "plain", archived=True, last_commit=None))

    (django, plain), _usage = await fetch(github, ask("django/django", "a/plain"))

    assert django.outcome is Outcome.OK
    figures = django.figures
    assert (figures.stars, figures.forks) == (80000, 32000)
    assert figures.description == "The web framework"
    assert figures.archived is False
    assert figures.participants == ["adrian", "jacob", "simon"]
    assert figures.commits_over_52 == weeks  # oldest first, current week last
    assert figures.last_commit_at == dt.datetime(2026, 11, 21, 8, 30, tzinfo=dt.UTC)
    assert figures.moved_to is None  # only the case differs
    assert set(django.etags) == {"contributors", "head"}
    assert plain.figures.description == ""  # none upstream
    assert plain.figures.archived is True
    assert plain.figures.last_commit_at is None  # an empty repository
    assert github.fake.invalid_queries == []


async def test_warm_runs_ask_rest_only_for_repositories_with_new_commits(
    github: GitHubWorld,
) -> None:
    for i in range(30):
        github.fake.add(FakeRepo("o", f"r{i}", stars=i, contributors=["x"], weeks=[1] * 52))
    paths = [f"o/r{i}" for i in range(30)]
    cold, cold_usage = await fetch(github, ask(*paths))
    github.fake.repos["o/r3"].stars = 99
    github.fake.repos["o/r4"].contributors = ["x", "newcomer"]  # a new commit
    github.fake.repos["o/r4"].weeks = [1] * 51 + [2]

    warm, usage = await fetch(github, ask(*paths, etags={r.key.path: r.etags for r in cold}))

    # Cold: the figures' query, one page of history for all 30, a contributor list each.
    assert cold_usage.github_points == 1 + 1 + 30
    assert all(r.figures.commits_over_52 == [1] * 52 for r in cold)
    # Warm: the figures' query, and for r4 alone its history and its changed contributors.
    assert usage.github_points == 1 + 1 + 1
    assert usage.requests["github"] == 3
    assert all(r.outcome is Outcome.OK for r in warm)
    assert warm[3].figures.stars == 99  # GraphQL is always current
    assert warm[3].figures.participants is None  # no new commit: unchanged
    assert warm[3].figures.commits_over_52 is None
    assert warm[3].etags == cold[3].etags  # still valid next time
    assert warm[4].figures.participants == ["x", "newcomer"]
    assert warm[4].figures.commits_over_52 == [1] * 51 + [2]
    assert warm[4].etags["head"] != cold[4].etags["head"]
    sent = [s for s in github.recorder.seen if s.path == "/repos/o/r4/contributors"]
    assert sent[-1].headers["if-none-match"] == cold[4].etags["contributors"]


async def test_a_new_week_shifts_the_weeks_and_unchanged_contributors_cost_nothing(
    github: GitHubWorld,
) -> None:
    for i in range(5):
        github.fake.add(FakeRepo("o", f"r{i}", contributors=["x"], weeks=[1] * 52))
    paths = [f"o/r{i}" for i in range(5)]
    cold, _ = await fetch(github, ask(*paths))
    next_week = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    github.client._now = lambda: next_week

    warm, usage = await fetch(github, ask(*paths, etags={r.key.path: r.etags for r in cold}))

    # Each Sunday the 52 weeks move on: the weeks are counted again (one query for all),
    # and the contributors are asked conditionally: 304s, which cost nothing.
    assert usage.not_modified["github"] == 5
    assert usage.github_points == 1 + 1
    assert all(r.outcome is Outcome.OK for r in warm)
    assert all(r.figures.commits_over_52 == [1] * 51 + [0] for r in warm)
    assert all(r.figures.participants is None for r in warm)
    assert all(w.etags["head"] != c.etags["head"] for w, c in zip(warm, cold, strict=True))


async def test_statistics_still_being_computed_do_not_delay_the_weeks(
    github: GitHubWorld,
) -> None:
    # GitHub answers /stats/commit_activity with 202 while it computes; the weeks are
    # counted from the history instead, which is always there.
    weeks = [week % 4 for week in range(52)]
    github.fake.add(
        FakeRepo("o", "fresh", stars=5, contributors=["a"], weeks=weeks, stats_pending=3)
    )

    (first,), usage = await fetch(github, ask("o/fresh"))

    assert first.outcome is Outcome.OK
    assert first.figures.commits_over_52 == weeks
    assert not any("/stats/" in path for path in github.recorder.paths())
    assert usage.github_points == 1 + 1 + 1  # figures, history, contributors


async def test_a_busy_history_is_paged_and_a_very_busy_one_counted_by_week(
    github: GitHubWorld,
) -> None:
    paged = [week % 7 for week in range(52)]  # 154 commits: two pages
    busy = [30 + week % 11 for week in range(52)]  # some 1,800: counted by week
    github.fake.add(FakeRepo("o", "paged", weeks=paged, contributors=["a"]))
    github.fake.add(FakeRepo("o", "busy", weeks=busy, contributors=["b"], older_commits=500))
    github.fake.add(FakeRepo("o", "quiet", weeks=[0] * 51 + [1], contributors=["c"]))

    (first, second, third), usage = await fetch(github, ask("o/paged", "o/busy", "o/quiet"))

    assert [r.outcome for r in (first, second, third)] == [Outcome.OK] * 3
    assert first.figures.commits_over_52 == paged
    assert second.figures.commits_over_52 == busy  # older commits are in no week
    assert third.figures.commits_over_52 == [0] * 51 + [1]
    assert github.fake.invalid_queries == []
    assert usage.github_points == github.fake.points


async def test_a_renamed_repository_reports_its_new_url(github: GitHubWorld) -> None:
    repo = github.fake.add(FakeRepo("new-owner", "new-name", contributors=["a"]))
    github.fake.rename("old-owner/old-name", repo)

    (result,), _ = await fetch(github, ask("old-owner/old-name"))

    assert result.outcome is Outcome.OK
    assert result.figures.moved_to == "https://github.com/new-owner/new-name"
    assert result.figures.participants == ["a"]
    # REST is asked under the new name, so no 301 hop is spent.
    assert "/repos/new-owner/new-name/contributors" in github.recorder.paths()


async def test_rest_follows_githubs_301_for_a_renamed_repository(github: GitHubWorld) -> None:
    repo = github.fake.add(FakeRepo("new", "name", contributors=["a", "b"]))
    github.fake.rename("old/name", repo)
    base = github.settings.github_api_url

    response = await github.client.rest.request(
        "GET", f"{base}/repos/old/name/contributors", usage=Usage(), follow_redirects=True
    )

    assert response.status_code == 200
    assert [hop.status_code for hop in response.history] == [301]
    assert [c["login"] for c in response.json()] == ["a", "b"]


async def test_a_missing_repository_is_not_found_and_the_others_are_fine(
    github: GitHubWorld,
) -> None:
    github.fake.add(FakeRepo("o", "here", stars=3))

    (gone, here), _ = await fetch(github, ask("o/gone", "o/here"))

    assert gone.outcome is Outcome.NOT_FOUND
    assert "o/gone" in gone.error
    assert here.outcome is Outcome.OK and here.figures.stars == 3
    assert not any(p.startswith("/repos/o/gone") for p in github.recorder.paths())


async def test_contributors_are_paged_and_bounded(github: GitHubWorld) -> None:
    github.fake.add(FakeRepo("o", "big", contributors=[f"u{i}" for i in range(650)]))
    github.fake.add(FakeRepo("o", "mid", contributors=[f"u{i}" for i in range(250)]))

    (big, mid), _ = await fetch(github, ask("o/big", "o/mid"))

    assert big.figures.participants == [f"u{i}" for i in range(500)]
    assert mid.figures.participants == [f"u{i}" for i in range(250)]
    pages = [s for s in github.recorder.seen if s.path.endswith("/contributors")]
    assert len(pages) == 5 + 3  # big stops at 500 logins; mid has three pages


async def test_a_contributor_list_too_large_keeps_what_we_have(github: GitHubWorld) -> None:
    github.fake.add(FakeRepo("o", "linux", stars=1, contributors_too_large=True))

    (result,), _ = await fetch(github, ask("o/linux"))

    assert result.outcome is Outcome.OK
    assert result.figures.participants is None
    assert "contributors" not in result.etags
    assert result.figures.commits_over_52 == [0] * 52
    assert "head" in result.etags  # nothing is asked again until a new commit


async def test_server_errors_are_retried(github: GitHubWorld) -> None:
    github.fake.add(FakeRepo("o", "r", stars=7))
    github.fake.faults.add("/graphql", Fault(502), times=2)
    github.fake.faults.add("/contributors", Fault(500), times=1)

    (result,), _ = await fetch(github, ask("o/r"))

    assert result.outcome is Outcome.OK
    assert result.figures.stars == 7
    assert result.figures.commits_over_52 == [0] * 52


async def test_an_upstream_that_keeps_failing_fails_the_repository_keeping_data(
    github: GitHubWorld,
) -> None:
    github.fake.add(FakeRepo("o", "r", stars=7, contributors=["a"]))
    github.fake.faults.add("/contributors", Fault(503), times=10)

    (result,), _ = await fetch(github, ask("o/r", etags={"o/r": {"contributors": 'W/"x"'}}))

    assert result.outcome is Outcome.FAILED
    assert "503" in result.error
    assert result.figures.stars is None and result.figures.participants is None
    assert result.etags == {"contributors": 'W/"x"'}  # as sent: nothing half-taken


async def test_a_secondary_rate_limit_is_waited_out(github: GitHubWorld) -> None:
    github.fake.add(FakeRepo("o", "r", contributors=["a"]))
    github.fake.faults.add(
        "/contributors",
        Fault(403, {"retry-after": "1"}, {"message": "You have exceeded a secondary rate limit"}),
    )
    started = time.monotonic()

    (result,), _ = await fetch(github, ask("o/r"))

    assert result.outcome is Outcome.OK
    assert result.figures.participants == ["a"]
    assert time.monotonic() - started >= 1.0


async def test_the_primary_rate_limit_pauses_until_the_reset(github: GitHubWorld) -> None:
    for i in range(3):
        github.fake.add(FakeRepo("o", f"r{i}", contributors=["a"]))
    github.fake.rest_remaining = 2  # two REST answers left in this window
    github.fake.rest_reset_in = 1.0

    results, _usage = await fetch(github, ask("o/r0", "o/r1", "o/r2"))

    assert [r.outcome for r in results] == [Outcome.OK] * 3
    assert all(r.figures.participants == ["a"] for r in results)


async def test_partial_graphql_errors_and_garbage_fail_only_their_repository(
    github: GitHubWorld,
) -> None:
    good = {
        "nameWithOwner": "o/good",
        "url": "https://github.com/o/good",
        "description": None,
        "stargazerCount": 4,
        "forkCount": 1,
        "isArchived": False,
        "defaultBranchRef": None,
    }
    github.fake.add(FakeRepo("o", "good", stars=4, forks=1))
    github.fake.faults.add(
        "/graphql",
        Fault(
            200,
            body={
                "data": {
                    "rateLimit": {"cost": 1, "remaining": 4000, "resetAt": "2030-01-01T00:00:00Z"},
                    "r0": good,
                    "r1": {**good, "stargazerCount": "many"},
                    "r2": None,
                },
                "errors": [{"type": "FORBIDDEN", "path": ["r2"], "message": "SAML enforced"}],
            },
        ),
    )

    (ok, garbage, forbidden), _usage = await fetch(github, ask("o/good", "o/bad", "o/saml"))

    assert ok.outcome is Outcome.OK and ok.figures.stars == 4
    assert garbage.outcome is Outcome.FAILED and "stargazerCount" in garbage.error
    assert "many" not in garbage.error  # the offending input is never echoed
    assert forbidden.outcome is Outcome.FAILED and "SAML" in forbidden.error


async def test_a_body_that_is_not_json_fails_the_batch(github: GitHubWorld) -> None:
    github.fake.faults.add("/graphql", Fault(200, body=b"<html>unicorn</html>"))

    results, _ = await fetch(github, ask("o/a", "o/b"))

    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED]
    assert all("not JSON" in r.error for r in results)


async def test_garbage_from_rest_fails_the_repository(github: GitHubWorld) -> None:
    github.fake.add(FakeRepo("o", "r", contributors=["a"]))
    github.fake.faults.add("/contributors", Fault(200, body=[{"login": 5}]))

    (result,), _ = await fetch(github, ask("o/r"))

    assert result.outcome is Outcome.FAILED
    assert "contributors" in result.error


HISTORY_PAGE = {
    "totalCount": 3,
    "pageInfo": {"hasNextPage": False, "endCursor": None},
    "nodes": [{"committedDate": "2026-11-16T10:00:00Z"}] * 3,
}


def _history_answer(history: object) -> dict[str, object]:
    rate = {"cost": 1, "remaining": 4000, "resetAt": "2030-01-01T00:00:00Z"}
    return {"data": {"rateLimit": rate, "r0": {"object": {"history": history}}}}


@pytest.mark.parametrize(
    "answer",
    [
        _history_answer({**HISTORY_PAGE, "totalCount": 5}),  # two commits not listed
        _history_answer({**HISTORY_PAGE, "nodes": [{"committedDate": "last week"}]}),
        _history_answer({**HISTORY_PAGE, "pageInfo": {"hasNextPage": True, "endCursor": None}}),
        {"data": {"rateLimit": None, "r0": {"object": None}}},  # the head was force-pushed away
        {"data": None, "errors": [{"message": "Something went wrong", "path": ["r0"]}]},
    ],
    ids=["fewer than its total", "not a date", "no cursor", "head gone", "error"],
)
async def test_a_history_that_does_not_add_up_fails_the_repository_keeping_data(
    github: GitHubWorld, answer: object
) -> None:
    github.fake.add(FakeRepo("o", "r", stars=7, contributors=["a"], weeks=[1] * 52))
    github.fake.faults.add("/graphql RepoHistory", Fault(200, body=answer))
    kept = {"contributors": 'W/"x"', "head": "old@2026-01-04"}

    (result,), _ = await fetch(github, ask("o/r", etags={"o/r": kept}))

    assert result.outcome is Outcome.FAILED
    assert "history" in result.error
    assert result.figures.commits_over_52 is None and result.figures.stars is None
    assert result.etags == kept  # nothing half-taken: asked again next run


async def test_an_empty_repository_has_no_commits_and_asks_no_history(
    github: GitHubWorld,
) -> None:
    github.fake.add(FakeRepo("o", "empty", last_commit=None, older_commits=0))

    (result,), _ = await fetch(github, ask("o/empty"))

    assert result.outcome is Outcome.OK
    assert result.figures.commits_over_52 == [0] * 52  # no commit at all: true zeros
    assert result.figures.participants == []
    assert len(github.fake.graphql_queries) == 1


async def test_many_repositories_cost_a_point_per_query_of_a_hundred(
    github: GitHubWorld,
) -> None:
    for i in range(250):
        github.fake.add(FakeRepo("o", f"r{i}"))

    results, usage = await fetch(github, ask(*(f"o/r{i}" for i in range(250))))

    assert all(r.outcome is Outcome.OK for r in results)
    # Batches of 100, 100 and 50: each a query of figures and a page of history.
    assert len(github.fake.graphql_queries) == 3 + 3
    assert usage.github_points == 3 + 3 + 250
    assert github.fake.points == usage.github_points
    assert github.fake.invalid_queries == []


def test_the_largest_queries_are_valid_against_githubs_schema() -> None:
    assert query_errors(build_batch_query(100)) == []
    assert query_errors(build_history_query(100)) == []
    assert query_errors(build_weekly_query(WEEKLY_BATCH)) == []


def test_the_schema_check_catches_a_query_github_would_refuse() -> None:
    errors = query_errors(build_batch_query(1).replace("stargazerCount", "stars"))

    assert errors and "stars" in errors[0].message


async def test_a_403_that_is_not_too_large_fails_the_repository(github: GitHubWorld) -> None:
    github.fake.add(FakeRepo("o", "r", contributors=["a"]))
    github.fake.faults.add(
        "/contributors", Fault(403, body={"message": "Resource not accessible by integration"})
    )

    (result,), _ = await fetch(github, ask("o/r"))

    assert result.outcome is Outcome.FAILED
    assert "403" in result.error


async def test_graphql_rate_limited_waits_for_the_reset_and_asks_again(
    github: GitHubWorld,
) -> None:
    github.fake.add(FakeRepo("o", "r", stars=11))
    github.fake.faults.add(
        "/graphql",
        Fault(
            200,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": f"{time.time() + 0.5:.2f}"},
            {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]},
        ),
    )
    started = time.monotonic()

    (result,), _ = await fetch(github, ask("o/r"))

    assert result.outcome is Outcome.OK and result.figures.stars == 11
    assert time.monotonic() - started >= 0.4
    # The figures' query twice (refused, then after the reset), then the history's.
    assert github.recorder.paths().count("/graphql") == 3


async def test_a_key_that_is_not_owner_name_fails_without_a_request(
    github: GitHubWorld,
) -> None:
    github.fake.add(FakeRepo("o", "r", stars=2))

    (bad, good), _ = await fetch(github, ask("group/sub/repo", "o/r"))

    assert bad.outcome is Outcome.FAILED and "owner/name" in bad.error
    assert good.outcome is Outcome.OK and good.figures.stars == 2
    assert sorted(github.recorder.paths()) == ["/graphql", "/graphql", "/repos/o/r/contributors"]
    assert "$o1" not in github.fake.graphql_queries[0]  # a batch of one: only o/r


async def test_a_pagination_link_off_githubs_host_is_not_followed(github: GitHubWorld) -> None:
    github.fake.add(FakeRepo("o", "r", contributors=["a"]))
    github.fake.faults.add(
        "/contributors",
        Fault(
            200,
            {"link": '<http://169.254.169.254/latest/meta-data>; rel="next"'},
            [{"login": "a"}],
        ),
    )

    (result,), _ = await fetch(github, ask("o/r"))

    assert result.outcome is Outcome.FAILED
    assert "169.254.169.254" in result.error
    assert not any("meta-data" in path for path in github.recorder.paths())


# --- the fake charges what GitHub charges (the cost figures above rest on it) ----------


def test_the_fake_costs_githubs_documented_examples_as_github_does() -> None:
    # docs.github.com, "Rate limits and node limits for the GraphQL API": 5,101 requests
    # (1 + 100 + 5,000), 51 points; and 305,100 nodes is fine, 550 likewise.
    rate = query_cost(
        parse(
            "query { viewer { login repositories(first: 100) { edges { node { id"
            " issues(first: 50) { edges { node { id labels(first: 60) { edges { node {"
            " id name } } } } } } } } } } }"
        ),
        {},
    )
    nodes = query_cost(
        parse(
            "query { viewer { repositories(first: 50) { edges { repository: node { name"
            " issues(first: 10) { totalCount edges { node { title bodyHTML } } } } } } } }"
        ),
        {},
    )
    unbounded = query_cost(parse("query { viewer { repositories { nodes { name } } } }"), {})
    too_many = query_cost(parse("query { viewer { repositories(first: 101) { totalCount } } }"), {})
    counted = query_cost(parse("query { viewer { repositories { totalCount } } }"), {})

    assert (rate.requests, rate.points, rate.nodes, rate.problems) == (5101, 51, 305_100, [])
    assert (nodes.requests, nodes.points, nodes.nodes) == (51, 1, 550)
    assert [p["type"] for p in unbounded.problems] == ["MISSING_PAGINATION_BOUNDARIES"]
    assert [p["type"] for p in too_many.problems] == ["EXCESSIVE_PAGINATION"]
    assert (counted.requests, counted.problems) == (1, [])  # a count needs no page


async def test_the_fake_charges_rest_answers_but_a_304_with_a_token(github: GitHubWorld) -> None:
    github.fake.add(FakeRepo("o", "r", contributors=["a"]))
    url = f"{github.settings.github_api_url}/repos/o/r/contributors"
    async with httpx.AsyncClient() as client:
        first = await client.get(url, headers={"Authorization": "Bearer t"})
        etag = {"If-None-Match": first.headers["etag"]}
        again = await client.get(url, headers={"Authorization": "Bearer t", **etag})
        anonymous = await client.get(url, headers=etag)

    assert (first.status_code, again.status_code, anonymous.status_code) == (200, 304, 304)
    assert first.headers["x-ratelimit-used"] == again.headers["x-ratelimit-used"] == "1"
    assert first.headers["x-ratelimit-reset"] == again.headers["x-ratelimit-reset"]
    assert anonymous.headers["x-ratelimit-limit"] == "60"
    assert anonymous.headers["x-ratelimit-used"] == "1"  # without a token a 304 counts
    assert github.fake.points == 2


async def test_the_fake_needs_a_token_for_graphql(github: GitHubWorld) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            github.settings.github_graphql_url, json={"query": "{ viewer { login } }"}
        )
    assert response.status_code == 401
