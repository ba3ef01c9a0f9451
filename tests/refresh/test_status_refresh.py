"""The status resource after real refresh runs: `packages-api refresh` against the fake
forges records its run and GitHub's rate-limit budget, and `packages-api status` (tables,
--json, --api) and GET /api/v4/status/ report them."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import httpx
from sqlalchemy import func, select

from app.main import create_app
from app.models import RefreshRun
from app.refresh.repository import RUNS_KEPT, Selection
from tests.fakes import Fault, serve_on_loopback
from tests.refresh.doubles import Db, ScriptedForges, failing, serving
from tests.refresh.test_end_to_end import Upstreams, refresh_cli, seed_mixed
from tests.refresh.test_end_to_end import upstreams as upstreams  # the fixture
from tests.test_cli import packages_api


async def status_cli(db: Db, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = await packages_api(db.url, "status", *args, cwd=None, COLUMNS="200", **(env or {}))
    return result.code, result.stdout, result.stderr


def _iso(epoch: float | None) -> str:
    """As x-ratelimit-reset says it: a whole second, rounded up."""
    assert epoch is not None
    return dt.datetime.fromtimestamp(math.ceil(epoch), dt.UTC).isoformat().replace("+00:00", "Z")


async def test_a_refresh_run_reports_its_outcome_failures_and_github_budget(
    db: Db, upstreams: Upstreams
) -> None:
    await seed_mixed(db, upstreams)
    await db.set("lab", repo_host="gitlab")  # as the API stores it, knowing GITLAB_URL
    upstreams.gitlab.faults.add("/api/v4/projects", Fault(502), times=50)

    code, _stdout, stderr = await refresh_cli(db, upstreams)
    assert code == 0, stderr

    code, stdout, stderr = await status_cli(db, "--json")
    assert code == 0, stderr
    status = json.loads(stdout)
    refresher = status["refresher"]
    run = refresher["last_run"]
    assert run["outcome"] == "ok" and run["failure"] == ""
    assert run["packages"] == {
        "refreshed": 4,
        "unchanged": 0,
        "pending": 0,
        "failed": 1,
        "skipped": 0,
    }
    assert run["requests"] > 0 and run["finished"] >= run["started"]
    assert refresher["failing"] == {"gitlab": 1}
    assert refresher["due"] == 0  # four fresh, the failing one backing off
    assert status["counts"]["packages"] == 5
    github = upstreams.github.graphql_budget
    graphql = [b for b in refresher["rate_limits"] if b["resource"] == "graphql"]
    assert graphql == [
        {
            "forge": "github",
            "host": "127.0.0.1",
            "resource": "graphql",
            "remaining": github.remaining,
            "limit": github.limit,
            "resets_at": _iso(github.resets_at),
            "observed_at": graphql[0]["observed_at"],
        }
    ]
    assert github.remaining < github.limit  # the run spent some of it

    # The same, as tables.
    code, table, stderr = await status_cli(db)
    assert code == 0, stderr
    assert "graphql" in table and str(github.remaining) in table
    assert "gitlab" in table and "ok, finished" in table

    # And from the deployment serving this database, over HTTP.
    app = create_app(upstreams.settings(db, refresh_enabled=False))
    async with app.router.lifespan_context(app), serve_on_loopback(app) as base:
        code, remote, stderr = await status_cli(db, "--json", "--api", base)
        assert code == 0, stderr
        async with httpx.AsyncClient(base_url=base) as client:
            direct = (await client.get("/api/v4/status/")).json()
    remote_status = json.loads(remote)
    assert remote_status["refresher"] == direct["refresher"] == refresher
    assert remote_status["counts"] == status["counts"]
    assert remote_status["newest_change"]["url"].startswith(f"{base}/api/v4/packages/")


async def test_an_unreachable_deployment_is_one_line_on_stderr(db: Db) -> None:
    code, stdout, stderr = await status_cli(db, "--api", "http://127.0.0.1:9")
    assert code == 1 and stdout == ""
    assert stderr.startswith("error: http://127.0.0.1:9/api/v4/status/: ConnectError")


async def test_every_run_is_recorded_and_only_the_newest_are_kept(db: Db) -> None:
    forges = ScriptedForges()
    forges.github.answers["acme/broken"] = failing(error="HTTP 502")
    await db.add("broken", "https://github.com/acme/broken")
    async with serving(db, forges, refresh_enabled=False) as (client, refresher):
        summary = await refresher.run(Selection(stale_after=None, respect_backoff=False))
        assert summary.outcomes
        status: dict[str, Any] = (await client.get("/api/v4/status/")).json()
        assert status["refresher"]["last_run"]["packages"]["failed"] == 1
        assert status["refresher"]["failing"] == {"github": 1}
        for _ in range(RUNS_KEPT + 3):
            await refresher.run(Selection())  # nothing due: still a run, recorded
    async with db.sessionmaker() as session:
        kept = await session.scalar(select(func.count()).select_from(RefreshRun))
        newest = await session.scalar(select(func.max(RefreshRun.finished)))
    assert kept == RUNS_KEPT
    assert newest is not None
