"""The refresher against scripted forges: what a run picks, writes, keeps, and never does."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import distinct, func, select

from app.cli.refresh import _summary_lines
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.forges.base import Outcome, PypiFigures, PypiResult, RepoFigures, RepoResult
from app.models import Package
from app.refresh.apply import PackageOutcome
from app.refresh.refresher import Refresher, RunSummary, pypi_project
from app.refresh.repository import Selection
from tests.refresh.doubles import (
    Answer,
    Db,
    ScriptedForge,
    ScriptedForges,
    ago,
    failing,
    ok,
    running,
    serving,
    token,
)

DUE = Selection(stale_after=dt.timedelta(hours=24))
EVERYTHING = Selection(stale_after=None, respect_backoff=False)
WEEKS = list(range(52))


def refresher(db: Db, forges: ScriptedForges, **settings: object) -> Refresher:
    return Refresher(db.sessionmaker, forges, db.settings(**settings))


async def test_a_mixed_set_is_refreshed_with_one_call_per_forge(db: Db) -> None:
    forges = ScriptedForges()
    commit = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    forges.github.answers["acme/shop"] = ok(
        stars=120,
        forks=7,
        description="",
        last_commit_at=commit,
        participants=["ann", "bob"],
        commits_over_52=WEEKS,
    )
    forges.pypi_client.answers["shop"] = PypiResult(
        "shop",
        Outcome.OK,
        PypiFigures(
            version="2.1",
            license="MIT",
            requires_python=">=3.10",
            classifiers=["Framework :: Django"],
            supports_python3=True,
            documentation_url="https://shop.readthedocs.io/",
            last_release=dt.datetime(2026, 10, 2, 3, 4, 5, tzinfo=dt.UTC),
        ),
        etag='"pypi-shop"',
    )
    await db.add("shop", "https://github.com/acme/shop", pypi="shop", repo_description="old")
    await db.add("lab", "https://gitlab.com/group/sub/lab")
    await db.add("elsewhere", "https://git.example.org/team/thing", pypi="thing")
    await db.add("pypi-only", pypi="pure")
    await db.add("bare")

    summary = await refresher(db, forges).run(DUE)

    assert summary.failure is None
    assert summary.outcomes == {PackageOutcome.REFRESHED: 4, PackageOutcome.UNCHANGED: 1}
    assert forges.github.calls == [["acme/shop"]]
    assert forges.gitlab.calls == [["group/sub/lab"]]
    # The unconfigured host is never contacted; its PyPI project still is.
    assert sorted(name for name, _ in forges.pypi_client.calls) == ["pure", "shop", "thing"]
    shop = await db.get("shop")
    assert (shop.repo_watchers, shop.repo_forks, shop.repo_description) == (120, 7, "")
    assert shop.participants == ["ann", "bob"]
    assert shop.commits_over_52 == WEEKS
    assert shop.last_updated == commit
    assert (shop.pypi_version, shop.pypi_license, shop.pypi_requires_python) == (
        "2.1",
        "MIT",
        ">=3.10",
    )
    assert shop.pypi_classifiers == ["Framework :: Django"]
    assert shop.pypi_last_release == dt.datetime(2026, 10, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert shop.documentation_url == "https://shop.readthedocs.io/"
    assert shop.refresh_etags == {"repo": '"acme/shop-120"'}
    assert shop.refresh_pypi_etag == '"pypi-shop"'
    assert shop.last_fetched is not None and shop.refresh_claimed_by is None
    assert shop.score > 0
    for slug in ("lab", "elsewhere", "pypi-only", "bare"):
        assert (await db.get(slug)).last_fetched is not None


async def test_fresh_packages_wait_and_the_least_fresh_go_first(db: Db) -> None:
    forges = ScriptedForges()
    await db.add("fresh", "https://github.com/o/fresh", last_fetched=ago(hours=1))
    await db.add("old", "https://github.com/o/old", last_fetched=ago(days=30))
    await db.add("older", "https://github.com/o/older", last_fetched=ago(days=60))
    await db.add("never", "https://github.com/o/never")

    summary = await refresher(db, forges, refresh_batch_size=1, refresh_concurrency=1).run(DUE)

    assert summary.packages == 3
    assert forges.github.calls == [["o/never"], ["o/older"], ["o/old"]]
    assert (await db.get("fresh")).refresh_attempted_at is None


async def test_a_failing_upstream_keeps_the_good_data_and_backs_off(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["o/good"] = ok(stars=50)
    forges.github.answers["o/bad"] = ok(stars=40, description="kept")
    await db.add("good", "https://github.com/o/good")
    await db.add("bad", "https://github.com/o/bad", pypi="bad")
    await refresher(db, forges).run(DUE)
    first_fetch = (await db.get("bad")).last_fetched

    forges.github.answers["o/bad"] = failing(error="HTTP 502 after 4 tries")
    forges.github.answers["o/good"] = ok(stars=51)
    summary = await refresher(db, forges).run(EVERYTHING)

    assert summary.outcomes == {PackageOutcome.REFRESHED: 1, PackageOutcome.FAILED: 1}
    bad = await db.get("bad")
    assert (bad.repo_watchers, bad.repo_description) == (40, "kept")
    assert bad.last_fetched == first_fetch
    assert bad.refresh_error == "github: HTTP 502 after 4 tries"
    assert bad.refresh_failures == 1
    assert bad.refresh_error_at is not None and bad.refresh_retry_at is not None
    wait = bad.refresh_retry_at - bad.refresh_error_at
    assert dt.timedelta(hours=1) <= wait <= dt.timedelta(hours=1.1)
    # PyPI answered: its figures are taken even though the forge failed.
    assert bad.pypi_version == "1.0"
    assert (await db.get("good")).repo_watchers == 51

    # In back-off, a due-package run leaves it alone ...
    assert (await refresher(db, forges).run(Selection(stale_after=dt.timedelta(0)))).outcomes[
        PackageOutcome.FAILED
    ] == 0
    # ... a second failure in a row doubles the wait ...
    await db.set("bad", refresh_retry_at=ago(seconds=1))
    await refresher(db, forges).run(Selection(stale_after=dt.timedelta(0)))
    bad = await db.get("bad")
    assert bad.refresh_failures == 2
    assert bad.refresh_retry_at is not None and bad.refresh_error_at is not None
    assert bad.refresh_retry_at - bad.refresh_error_at >= dt.timedelta(hours=2)
    # ... and once the forge answers again, the error is cleared.
    forges.github.answers["o/bad"] = ok(stars=41)
    await refresher(db, forges).run(Selection(stale_after=dt.timedelta(0), respect_backoff=False))
    bad = await db.get("bad")
    assert (bad.repo_watchers, bad.refresh_failures, bad.refresh_error) == (41, 0, "")
    assert bad.refresh_retry_at is None and bad.last_fetched != first_fetch


async def test_a_missing_repository_is_recorded_not_deleted(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["o/gone"] = failing(Outcome.NOT_FOUND, "repository not found")
    await db.add("gone", "https://github.com/o/gone", repo_watchers=9)

    summary = await refresher(db, forges).run(DUE)

    assert summary.outcomes == {PackageOutcome.FAILED: 1}
    gone = await db.get("gone")
    assert (gone.repo_watchers, gone.repo_url) == (9, "https://github.com/o/gone")
    assert gone.refresh_error == "github: repository not found"


async def test_statistics_still_computing_keep_figures_and_retry_soon(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["o/busy"] = lambda request: RepoResult(
        request.key, Outcome.PENDING, RepoFigures(stars=77), retry_after=30
    )
    await db.add("busy", "https://github.com/o/busy")

    summary = await refresher(db, forges).run(DUE)

    assert summary.outcomes == {PackageOutcome.PENDING: 1}
    busy = await db.get("busy")
    assert busy.repo_watchers == 77
    assert busy.last_fetched is None and busy.refresh_failures == 0
    assert busy.refresh_retry_at is not None and busy.refresh_attempted_at is not None
    assert busy.refresh_retry_at - busy.refresh_attempted_at < dt.timedelta(minutes=1)


async def test_unknown_weeks_are_asked_afresh_whatever_etags_remain(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["o/unknown"] = ok(commits_over_52=WEEKS)
    etags = {"contributors": 'W/"c"', "head": "f00d@2026-11-22"}
    await db.add("unknown", "https://github.com/o/unknown", refresh_etags=etags, commits_over_52=[])
    await db.add("known", "https://github.com/o/known", refresh_etags=etags, commits_over_52=WEEKS)

    await refresher(db, forges).run(DUE)

    # `[]` is "not known yet", never "unchanged": nothing may answer 304 for it.
    assert forges.github.sent == {"o/unknown": {}, "o/known": etags}
    assert (await db.get("unknown")).commits_over_52 == WEEKS


@pytest.mark.parametrize("weeks", [None, [], [1] * 51, [1] * 53], ids=str)
async def test_weeks_are_written_only_whole_and_unknown_stays_empty(
    db: Db, weeks: list[int] | None
) -> None:
    forges = ScriptedForges()
    forges.github.answers["o/r"] = ok(stars=3, commits_over_52=weeks)
    await db.add("r", "https://github.com/o/r", commits_over_52=[])

    await refresher(db, forges).run(DUE)

    package = await db.get("r")
    assert package.repo_watchers == 3
    assert package.commits_over_52 == []  # never padded, cut or made up


def computing(stars: int = 77) -> Answer:
    return lambda request: RepoResult(
        request.key, Outcome.PENDING, RepoFigures(stars=stars), retry_after=30
    )


async def test_a_forge_still_computing_is_asked_again_in_the_same_run_while_others_proceed(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.refresh.pending.FIRST_RETRY", 0.01)
    forges = ScriptedForges()
    answers = iter([computing(), computing(), ok(stars=78, commits_over_52=WEEKS)])
    forges.github.answers["o/busy"] = lambda request: next(answers)(request)
    await db.add("busy", "https://github.com/o/busy")
    await db.add("calm", "https://github.com/o/calm")

    summary = await refresher(db, forges, refresh_batch_size=1).run(DUE, pending_wait=30)

    assert summary.outcomes == {PackageOutcome.REFRESHED: 2}  # each package counted once
    assert forges.github.fetched == {"o/busy": 3, "o/calm": 1}
    busy, calm = await db.get("busy"), await db.get("calm")
    assert (busy.repo_watchers, busy.commits_over_52) == (78, WEEKS)
    assert busy.last_fetched is not None and busy.refresh_retry_at is None
    assert calm.last_fetched is not None and calm.last_fetched < busy.last_fetched


async def test_what_is_still_computing_after_the_wait_is_counted_and_left_for_later(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.refresh.pending.FIRST_RETRY", 0.01)
    forges = ScriptedForges()
    forges.github.answers["o/busy"] = computing()
    await db.add("busy", "https://github.com/o/busy")

    summary = await refresher(db, forges).run(DUE, pending_wait=0.05)

    assert summary.outcomes == {PackageOutcome.PENDING: 1}
    assert forges.github.fetched["o/busy"] >= 2  # asked again before giving up
    busy = await db.get("busy")
    assert busy.repo_watchers == 77 and busy.last_fetched is None  # what came is kept
    assert busy.refresh_retry_at is not None and busy.refresh_claimed_by is None


def test_the_cli_summary_says_how_many_are_still_pending() -> None:
    started = dt.datetime.now(dt.UTC)
    waited = RunSummary(started, outcomes=Counter({PackageOutcome.PENDING: 2}))
    done = RunSummary(started, outcomes=Counter({PackageOutcome.REFRESHED: 2}))

    assert _summary_lines(waited, 120)[-1].startswith(
        "still pending: 2 (a forge was still computing their figures after "
        "REFRESH_PENDING_WAIT, 120 s;"
    )
    assert not any("pending:" in line for line in _summary_lines(done, 120))


async def test_renames_follow_the_repository_unless_another_package_has_it(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["o/old-name"] = ok(moved_to="https://github.com/o/New-Name")
    forges.github.answers["o/dup"] = ok(moved_to="https://github.com/o/taken")
    await db.add("renamed", "https://github.com/o/old-name")
    await db.add("dup", "https://github.com/o/dup")
    await db.add("holder", "https://github.com/o/taken", last_fetched=ago(hours=1))

    await refresher(db, forges).run(DUE)

    assert (await db.get("renamed")).repo_url == "https://github.com/o/new-name"
    dup = await db.get("dup")
    assert dup.repo_url == "https://github.com/o/dup"
    assert "already has" in dup.refresh_error and "'holder'" in dup.refresh_error


async def test_archiving_dates_once_and_unarchiving_clears(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["o/a"] = ok(archived=True)
    await db.add("a", "https://github.com/o/a")
    await refresher(db, forges).run(DUE)
    archived = (await db.get("a")).date_repo_archived
    assert archived is not None

    await refresher(db, forges).run(EVERYTHING)
    assert (await db.get("a")).date_repo_archived == archived

    forges.github.answers["o/a"] = ok(archived=False)
    await refresher(db, forges).run(EVERYTHING)
    assert (await db.get("a")).date_repo_archived is None


async def test_a_claim_of_a_dead_refresher_is_taken_over_when_its_lease_expires(db: Db) -> None:
    forges = ScriptedForges()
    await db.add("held", "https://github.com/o/held")
    await db.set("held", refresh_claimed_by="dead", refresh_claimed_until=ago(seconds=-600))

    assert (await refresher(db, forges).run(DUE)).packages == 0
    assert forges.github.calls == []

    await db.set("held", refresh_claimed_until=ago(seconds=1))
    summary = await refresher(db, forges).run(DUE)

    assert summary.outcomes == {PackageOutcome.REFRESHED: 1}
    held = await db.get("held")
    assert held.refresh_claimed_by is None and held.last_fetched is not None


async def test_a_refresher_that_lost_its_lease_writes_nothing(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.gate = asyncio.Event()
    forges.github.answers["o/slow"] = ok(stars=999)
    await db.add("slow", "https://github.com/o/slow", repo_watchers=3)
    async with running(refresher(db, forges).run(DUE)) as run:
        await forges.github.entered.wait()

        # Its lease expired and another replica took the package over meanwhile.
        await db.set("slow", refresh_claimed_by="other", refresh_claimed_until=ago(seconds=-600))
        forges.github.gate.set()
        summary = await run

    assert summary.outcomes == {PackageOutcome.SKIPPED: 1}
    slow = await db.get("slow")
    assert (slow.repo_watchers, slow.refresh_claimed_by, slow.last_fetched) == (3, "other", None)


async def test_stopping_mid_run_writes_no_package_partially_and_releases_claims(db: Db) -> None:
    forges = ScriptedForges()
    forges.gitlab.gate = asyncio.Event()  # GitLab never answers before the stop
    await db.add("hub", "https://github.com/o/hub", pypi="hub")
    await db.add("lab", "https://gitlab.com/o/lab", pypi="lab", repo_watchers=5)
    machine = refresher(db, forges, refresh_batch_size=1, refresh_concurrency=2)
    machine.start()
    try:
        await forges.gitlab.entered.wait()
        await asyncio.sleep(0.05)
    finally:
        await machine.stop(grace=0.1)

    hub, lab = await db.get("hub"), await db.get("lab")
    assert hub.last_fetched is not None and hub.pypi_version == "1.0"
    # Abandoned in its fetch: not a single field written (PyPI had answered for it).
    assert (lab.repo_watchers, lab.pypi_version, lab.last_fetched) == (5, None, None)
    assert lab.refresh_claimed_by is None and lab.refresh_claimed_until is None


# A hang detector, not a speed target: two refreshers claim within a second or two.
CLAIMS_BOUND = 60.0


async def test_two_refreshers_on_one_database_never_refresh_a_package_twice(db: Db) -> None:
    forges = ScriptedForges()
    # Every fetch waits until both refreshers hold claims, so that neither can finish alone
    # first (a delay did not: on a busy machine the first ran through before the second's
    # first claim).
    forges.github.gate = asyncio.Event()
    slugs = [f"p{number}" for number in range(120)]
    for slug in slugs:
        await db.add(slug, f"https://github.com/o/{slug}")
    options = {"refresh_batch_size": 7, "refresh_concurrency": 3}
    one, two = refresher(db, forges, **options), refresher(db, forges, **options)

    runs = asyncio.gather(one.run(DUE), two.run(DUE))
    claimants = select(func.count(distinct(Package.refresh_claimed_by)))
    for _ in range(int(CLAIMS_BOUND / 0.05)):
        async with db.sessionmaker() as session:
            if await session.scalar(claimants) == 2:
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the two refreshers never both held claims")
    forges.github.gate.set()
    first, second = await runs

    assert max(forges.github.fetched.values()) == 1
    assert sum(forges.github.fetched.values()) == len(slugs)
    assert first.packages + second.packages == len(slugs)
    assert first.packages > 0 and second.packages > 0
    for slug in slugs:
        assert (await db.get(slug)).last_fetched is not None


async def test_a_client_that_raises_fails_its_packages_not_the_run(db: Db) -> None:
    class Broken(ScriptedForge):
        async def fetch_many(self, repos: object, usage: object) -> list[RepoResult]:
            raise KeyError("bug")

    forges = ScriptedForges(gitlab=Broken("gitlab"))
    await db.add("hub", "https://github.com/o/hub")
    await db.add("lab", "https://gitlab.com/o/lab")

    summary = await refresher(db, forges).run(DUE)

    assert summary.failure is None
    assert summary.outcomes == {PackageOutcome.REFRESHED: 1, PackageOutcome.FAILED: 1}
    assert (await db.get("lab")).refresh_error.startswith("gitlab: internal error: KeyError")


async def test_a_run_on_an_unreachable_database_is_a_run_failure() -> None:
    broken = Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    engine = create_engine(broken)
    try:
        machine = Refresher(create_sessionmaker(engine), ScriptedForges(), broken)
        summary = await machine.run(DUE)
    finally:
        await engine.dispose()
    assert summary.failure is not None
    assert machine.last_success is None


@pytest.mark.parametrize(
    ("url", "project"),
    [
        ("https://pypi.org/project/Django-Shop/", "Django-Shop"),
        ("http://pypi.python.org/pypi/django-shop", "django-shop"),
        ("https://example.org/project/x/", None),
        ("", None),
        ("https://pypi.org/", None),
    ],
)
def test_the_pypi_project_is_read_from_the_pypi_url(url: str, project: str | None) -> None:
    assert pypi_project(url) == project


async def test_a_users_edit_during_a_fetch_is_answered_at_once_and_discards_its_figures(
    db: Db,
) -> None:
    forges = ScriptedForges()
    forges.github.gate = asyncio.Event()  # the fetch waits until the user's edit is done
    forges.github.answers["o/before"] = ok(stars=999)
    await db.add("edited", "https://github.com/o/before", repo_watchers=3)
    headers = await token(db)
    async with serving(db, forges) as (client, machine), running(machine.run(DUE)) as run:
        await forges.github.entered.wait()

        # The user's write never waits on an upstream: the fetch cannot end before it.
        async with asyncio.timeout(60):  # a deadlock guard, not a speed check
            response = await client.patch(
                "/api/v4/packages/edited/",
                json={"repo_url": "https://github.com/o/after"},
                headers=headers,
            )
        assert response.status_code == 200, response.text
        assert not forges.github.gate.is_set()
        forges.github.gate.set()
        summary = await run

    assert summary.outcomes == {PackageOutcome.SKIPPED: 1}
    edited = await db.get("edited")
    assert edited.repo_url == "https://github.com/o/after"
    assert (edited.repo_watchers, edited.last_fetched, edited.refresh_claimed_by) == (3, None, None)


async def test_a_cancelled_run_stops_its_batches_and_leaves_no_claim(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.gate = asyncio.Event()  # the fetch would never end by itself
    await db.add("slow", "https://github.com/o/slow", repo_watchers=3)
    machine = refresher(db, forges)
    run = asyncio.create_task(machine.run(DUE))
    await forges.github.entered.wait()

    run.cancel()  # what the CLI's second Ctrl+C does
    await asyncio.gather(run, return_exceptions=True)
    await machine.stop(grace=0)

    # The fetch in flight stopped with its run; left running, it went on after the caller
    # disposed of the engine, and the connection of its write was never closed.
    assert forges.github.cancelled == 1
    slow = await db.get("slow")
    assert (slow.repo_watchers, slow.last_fetched, slow.refresh_claimed_by) == (3, None, None)


async def test_a_rate_limit_wait_is_not_stuck_but_a_batch_past_its_lease_or_a_dead_loop_is(
    db: Db,
) -> None:
    # A 30 s interval must not make a GitHub rate-limit pause (up to UPSTREAM_MAX_WAIT,
    # shared by every replica) look stuck: only a batch outliving its lease does.
    machine = refresher(db, ScriptedForges(), refresh_interval=30, refresh_lease_seconds=1800)
    assert not machine.stuck()  # not started: nothing to be stuck
    machine._loop_task = asyncio.get_running_loop().create_future()  # type: ignore[assignment]
    machine._heartbeat = ago(minutes=15)  # waiting out a rate limit
    assert not machine.stuck()
    machine._heartbeat = ago(minutes=33)  # past the 30 min lease and the margin
    assert machine.stuck()
    machine._heartbeat = ago(minutes=0)
    machine._loop_task.set_result(None)  # the loop ended on its own
    assert machine.stuck()
