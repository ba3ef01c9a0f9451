"""The refresher when things break: a refresher killed mid-run, an upstream that never
answers (or answers a byte at a time), and upstreams answering garbage. Packages are
either untouched or fully refreshed, errors are recorded, and good data is never lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from app.forges.registry import open_forges
from app.models import Package
from app.refresh.refresher import Refresher, RunSummary
from app.refresh.repository import Selection
from tests import cli_process
from tests.fakes import FakeRepo, Fault, serve_on_loopback
from tests.refresh.doubles import Db
from tests.refresh.test_end_to_end import RECENT, Upstreams, refresh_cli
from tests.refresh.test_end_to_end import upstreams as upstreams  # a fixture

# Hang detectors, not speed targets: what is under test is cut after a second or two.
BOUND = 60.0
OLD: dict[str, Any] = {
    "repo_watchers": 1,
    "repo_forks": 1,
    "repo_description": "old",
    "participants": ["old"],
    "commits_over_52": [7] * 52,
}


def _state(package: Package) -> dict[str, Any]:
    return {name: getattr(package, name) for name in OLD}


async def _run(settings: Any, db: Db) -> RunSummary:
    async with open_forges(settings) as forges:
        refresher = Refresher(db.sessionmaker, forges, settings)
        return await asyncio.wait_for(
            refresher.run(Selection(stale_after=None, respect_backoff=False)), BOUND
        )


# --- a refresher killed mid-run ----------------------------------------------------


async def test_a_refresher_killed_mid_run_leaves_whole_packages_and_its_claims_expire(
    db: Db, upstreams: Upstreams
) -> None:
    names = [f"r{number}" for number in range(6)]
    for number, name in enumerate(names):
        upstreams.github.add(
            FakeRepo(
                "acme",
                name,
                stars=100 + number,
                forks=number,
                description=f"new {name}",
                contributors=["ann"],
                weeks=[1] * 52,
            )
        )
        await db.add(name, f"https://github.com/acme/{name}", **OLD)
    upstreams.recorders["github"].latency = 0.4  # each package takes a few requests
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        **upstreams.env,
        "REFRESH_BATCH_SIZE": "1",
        "REFRESH_CONCURRENCY": "1",
        "REFRESH_LEASE_SECONDS": "4",
    }
    process = await cli_process.start(
        "refresh",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        # Kill it once one package is written and the next is claimed and being fetched.
        for _ in range(int(BOUND / 0.05)):
            packages = [await db.get(name) for name in names]
            done = [p for p in packages if p.last_fetched is not None]
            claimed = [p for p in packages if p.last_fetched is None and p.refresh_claimed_by]
            if done and claimed:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the refresher never got going")
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), BOUND)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    killed_at = dt.datetime.now(dt.UTC)

    orphaned = set()
    for number, name in enumerate(names):
        package = await db.get(name)
        new = {
            "repo_watchers": 100 + number,
            "repo_forks": number,
            "repo_description": f"new {name}",
            "participants": ["ann"],
            "commits_over_52": [1] * 52,
        }
        assert _state(package) in (OLD, new), (name, _state(package))
        assert (package.last_fetched is None) == (_state(package) == OLD), name
        if package.refresh_claimed_by is not None:
            assert package.refresh_claimed_until is not None
            assert package.refresh_claimed_until > killed_at  # the dead one's lease holds on
            orphaned.add(name)
    assert orphaned, "the killed refresher held no claim"

    # Another refresher, at once: the dead one's claims are not taken while they last.
    upstreams.recorders["github"].latency = 0.0
    settings = upstreams.settings(db, refresh_lease_seconds=4)
    first = await _run(settings, db)
    assert first.failure is None
    for name in orphaned:
        package = await db.get(name)
        assert _state(package) == OLD and package.refresh_claimed_by is not None, name

    # After the lease, the next run takes them over and refreshes them whole.
    leases = [(await db.get(name)).refresh_claimed_until for name in orphaned]
    lease_end = max(lease for lease in leases if lease is not None)
    await asyncio.sleep(max(0.0, (lease_end - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
    code, _stdout, stderr = await refresh_cli(db, upstreams)
    assert code == 0, stderr
    for name in names:
        package = await db.get(name)
        assert package.last_fetched is not None and package.repo_description == f"new {name}"
        assert package.refresh_claimed_by is None


# --- upstreams that hang --------------------------------------------------------------


async def _never_answers(scope: Scope, receive: Receive, send: Send) -> None:
    """Accepts the request and says nothing until the client gives up."""
    if scope["type"] != "http":
        return
    while (await receive())["type"] != "http.disconnect":
        pass


async def _answers_a_byte_at_a_time(scope: Scope, receive: Receive, send: Send) -> None:
    """200, then one byte of a JSON body every 0.2 s, for ever: each read is quick, so a
    read timeout alone never fires."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
    while True:
        try:
            message = await asyncio.wait_for(receive(), 0.2)
        except TimeoutError:
            await send({"type": "http.response.body", "body": b" ", "more_body": True})
            continue
        if message["type"] == "http.disconnect":
            return


@asynccontextmanager
async def _github_served_by(app: Any) -> AsyncIterator[str]:
    async with serve_on_loopback(app) as base:
        yield base


@pytest.mark.parametrize("upstream", [_never_answers, _answers_a_byte_at_a_time])
async def test_an_upstream_that_hangs_is_cut_by_the_timeout_and_old_values_stay(
    db: Db, upstreams: Upstreams, upstream: Any
) -> None:
    await db.add("stuck", "https://github.com/acme/stuck", **OLD)
    async with _github_served_by(upstream) as base:
        settings = upstreams.settings(
            db,
            github_api_url=base,
            github_graphql_url=f"{base}/graphql",
            upstream_timeout=1.0,
            upstream_retry_attempts=2,
        )
        started = asyncio.get_running_loop().time()
        summary = await _run(settings, db)
        took = asyncio.get_running_loop().time() - started

    assert summary.failure is None  # a package failing is not the run failing
    package = await db.get("stuck")
    assert _state(package) == OLD
    assert package.last_fetched is None
    assert package.refresh_error and "timeout" in package.refresh_error.lower()
    assert package.refresh_failures == 1 and package.refresh_retry_at is not None
    assert package.refresh_claimed_by is None
    assert took < BOUND


# --- upstreams that answer garbage ---------------------------------------------------

GOOD_REPOSITORY = {
    "nameWithOwner": "acme/junk",
    "url": "https://github.com/acme/junk",
    "description": "new",
    "stargazerCount": 5,
    "forkCount": 1,
    "isArchived": False,
    "defaultBranchRef": None,
}


def _graphql(repository: Any) -> dict[str, Any]:
    rate = {"cost": 1, "remaining": 4000, "resetAt": "2030-01-01T00:00:00Z"}
    return {"data": {"rateLimit": rate, "r0": repository}}


GARBAGE = {
    "html": Fault(200, {"content-type": "text/html"}, b"<html><body>Unicorn!</body></html>"),
    "truncated json": Fault(200, body=b'{"data": {"r0": {"nameWithOwner": "acme/ju'),
    "wrong type": Fault(200, body=_graphql({**GOOD_REPOSITORY, "stargazerCount": "many"})),
    "huge number": Fault(200, body=_graphql({**GOOD_REPOSITORY, "stargazerCount": 10**30})),
    "negative number": Fault(200, body=_graphql({**GOOD_REPOSITORY, "forkCount": -3})),
    "null": Fault(200, body=_graphql({**GOOD_REPOSITORY, "stargazerCount": None})),
    "not an object": Fault(200, body=["data"]),
    "empty": Fault(200, body=b""),
}


@pytest.mark.parametrize("fault", list(GARBAGE.values()), ids=list(GARBAGE))
async def test_garbage_from_github_records_an_error_and_keeps_old_values(
    db: Db, upstreams: Upstreams, fault: Fault
) -> None:
    upstreams.github.add(FakeRepo("acme", "junk", stars=5, description="new"))
    await db.add("junk", "https://github.com/acme/junk", **OLD)
    upstreams.github.faults.add("/graphql", fault, times=10)

    summary = await _run(upstreams.settings(db), db)

    assert summary.failure is None
    package = await db.get("junk")
    assert _state(package) == OLD
    assert package.last_fetched is None
    assert package.refresh_error and package.refresh_failures == 1
    assert "Unicorn" not in package.refresh_error and "many" not in package.refresh_error


def _history(total: int, listed: int) -> dict[str, Any]:
    page = {
        "totalCount": total,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "nodes": [{"committedDate": RECENT.isoformat().replace("+00:00", "Z")}] * listed,
    }
    rate = {"cost": 1, "remaining": 4000, "resetAt": "2030-01-01T00:00:00Z"}
    return {"data": {"rateLimit": rate, "r0": {"object": {"history": page}}}}


@pytest.mark.parametrize(
    "history",
    [_history(10, 3), _history(0, 101), {"data": {"r0": {"object": None}}}],
    ids=["fewer listed than counted", "a page too long", "head commit gone"],
)
async def test_a_history_that_does_not_add_up_is_refused_and_old_values_stay(
    db: Db, upstreams: Upstreams, history: dict[str, Any]
) -> None:
    upstreams.github.add(FakeRepo("acme", "weeks", stars=5, contributors=["ann"], weeks=[1] * 52))
    await db.add("weeks", "https://github.com/acme/weeks", **OLD)
    upstreams.github.faults.add("/graphql RepoHistory", Fault(200, body=history))

    summary = await _run(upstreams.settings(db), db)

    assert summary.failure is None
    package = await db.get("weeks")
    assert _state(package) == OLD  # never a count of part of a year
    assert package.refresh_error and "history" in package.refresh_error


async def test_garbage_from_pypi_keeps_the_release_and_records_the_error(
    db: Db, upstreams: Upstreams
) -> None:
    await db.add("pkg", pypi="django-shop", pypi_version="0.9")
    upstreams.pypi.faults.add("/pypi/", Fault(200, body=b"<html>maintenance</html>"), times=10)

    summary = await _run(upstreams.settings(db), db)

    assert summary.failure is None
    package = await db.get("pkg")
    assert package.pypi_version == "0.9"
    assert package.refresh_error and package.refresh_failures == 1
