"""Any number of GitLab instances, end to end: a directory with packages on gitlab.com
(served here by a mirror) and on a company's GitLab refreshes both with `packages-api
refresh`, each instance asked only for its own projects, with its own token."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio

from app.main import create_app
from tests.fakes import Recorder, serve_on_loopback
from tests.fakes.answers import Commit
from tests.fakes.gitlab import FakeGitLab, GitLabProject
from tests.refresh.doubles import Db
from tests.test_cli import packages_api

RECENT = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)
TOKENS = {"gitlab.com": "glpat-public-s3cr3t", "git.example.org": "glpat-company-s3cr3t"}


@dataclass
class Instances:
    public: FakeGitLab  # stands in for gitlab.com: a mirror, with its own web URLs
    company: FakeGitLab
    recorders: dict[str, Recorder]
    env: dict[str, str]


@pytest_asyncio.fixture
async def instances() -> AsyncIterator[Instances]:
    public = FakeGitLab(token=TOKENS["gitlab.com"])
    company = FakeGitLab(token=TOKENS["git.example.org"], external_url="https://git.example.org")
    public.add(
        GitLabProject(
            "group/sub/lab",
            stars=12,
            forks=2,
            contributors=[("Carol", "carol@example.org", 5)],
            commits=[Commit(RECENT, name="Carol")] * 3,
            private=True,  # only the public instance's token may see it
        )
    )
    public.rename("old-group/tool", public.add(GitLabProject("new-group/tool", stars=4)))
    company.add(
        GitLabProject(
            "team/backend/api",
            stars=7,
            description="Internal API",
            contributors=[("Dan", "dan@example.org", 9), ("Eve", "eve@example.org", 1)],
            commits=[Commit(RECENT, name="Dan")],
            private=True,
        )
    )
    recorders = {"gitlab.com": Recorder(public.app), "git.example.org": Recorder(company.app)}
    async with (
        serve_on_loopback(recorders["gitlab.com"]) as public_base,
        serve_on_loopback(recorders["git.example.org"]) as company_base,
    ):
        public.external_url = public_base  # a mirror's web_url is its own
        env = {
            "GITLAB_INSTANCES": f"gitlab.com={public_base},git.example.org={company_base}",
            "GITLAB_TOKENS": ",".join(f"{host}={token}" for host, token in TOKENS.items()),
            "UPSTREAM_RETRY_ATTEMPTS": "1",
            "UPSTREAM_MAX_WAIT": "1",
        }
        yield Instances(public, company, recorders, env)


async def refresh_cli(db: Db, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = await packages_api(db.url, "refresh", *args, cwd=None, **env)
    return result.code, result.stdout, result.stderr


async def served(db: Db, env: dict[str, str], *slugs: str) -> dict[str, dict[str, Any]]:
    """The packages as the API serves them, with the same settings."""
    app = create_app(db.settings(**{name.lower(): value for name, value in env.items()}))
    packages: dict[str, dict[str, Any]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for slug in slugs:
                response = await client.get(f"/api/v4/packages/{slug}/")
                assert response.status_code == 200
                packages[slug] = response.json()
    return packages


def counts(stdout: str) -> dict[str, int]:
    first = stdout.splitlines()[0]
    return {name: int(count) for name, count in re.findall(r"(\w+) (\d+)", first)}


async def seed(db: Db) -> None:
    await db.add("lab", "https://gitlab.com/group/sub/lab")
    await db.add("tool", "https://gitlab.com/old-group/tool")
    await db.add("api", "https://git.example.org/team/backend/api")
    await db.set("api", repo_host="gitlab")  # as the API labels it with these settings


async def test_packages_on_gitlab_com_and_a_company_gitlab_both_refresh(
    db: Db, instances: Instances
) -> None:
    await seed(db)

    code, stdout, stderr = await refresh_cli(db, instances.env)

    assert code == 0, stderr
    assert counts(stdout)["refreshed"] == 3 and counts(stdout)["failed"] == 0
    packages = await served(db, instances.env, "lab", "tool", "api")
    lab, tool, api = packages["lab"], packages["tool"], packages["api"]
    assert (lab["repo_watchers"], lab["repo_forks"], lab["participants"]) == (12, 2, ["Carol"])
    assert lab["commits_over_52"][-1] == 3
    assert (api["repo_watchers"], api["repo_description"]) == (7, "Internal API")
    assert api["participants"] == ["Dan", "Eve"] and sum(api["commits_over_52"]) == 1
    # Renamed on the mirror: it moved on gitlab.com, not onto the mirror's host.
    assert (tool["repo_url"], tool["repo_host"]) == ("https://gitlab.com/new-group/tool", "gitlab")
    assert tool["repo_watchers"] == 4
    assert all(package["repo_host"] == "gitlab" for package in packages.values())

    # Each instance was asked for its own projects only, with its own token.
    for host, recorder in instances.recorders.items():
        assert recorder.seen
        assert {seen.headers["private-token"] for seen in recorder.seen} == {TOKENS[host]}
    public_paths = set(instances.recorders["gitlab.com"].paths())
    company_paths = set(instances.recorders["git.example.org"].paths())
    assert "/api/v4/projects/team/backend/api" in company_paths
    assert "/api/v4/projects/group/sub/lab" in public_paths
    assert not any("team/backend" in path for path in public_paths)
    assert not any("group/sub" in path or "tool" in path for path in company_paths)
    assert not any(token in stdout + stderr for token in TOKENS.values())

    # The next run asks both instances conditionally, and they answer 304.
    before = {host: len(recorder.seen) for host, recorder in instances.recorders.items()}
    code, stdout, stderr = await refresh_cli(db, instances.env, "--all")

    assert code == 0, stderr
    assert counts(stdout)["unchanged"] == 3
    for host, recorder in instances.recorders.items():
        fresh = recorder.seen[before[host] :]
        assert fresh and all("if-none-match" in seen.headers for seen in fresh), host


async def test_the_one_instance_shorthand_still_refreshes_a_company_gitlab(
    db: Db, instances: Instances
) -> None:
    company = instances.env["GITLAB_INSTANCES"].split(",")[1].partition("=")[2]
    shorthand = {"GITLAB_URL": company, "GITLAB_TOKEN": TOKENS["git.example.org"]}
    await db.add("api", f"https://{company.removeprefix('http://')}/team/backend/api")
    await db.add("lab", "https://gitlab.com/group/sub/lab")

    code, stdout, stderr = await refresh_cli(db, shorthand)

    assert code == 0, stderr
    assert counts(stdout)["refreshed"] == 1
    assert (await db.get("api")).repo_watchers == 7
    company_seen = instances.recorders["git.example.org"].seen
    assert {seen.headers["private-token"] for seen in company_seen} == {TOKENS["git.example.org"]}
    # GITLAB_URL alone replaces gitlab.com, as it always did: that one is not contacted.
    assert (await db.get("lab")).repo_watchers == 0
    assert instances.recorders["gitlab.com"].seen == []


async def test_contradictory_gitlab_settings_stop_the_run_before_any_request(
    db: Db, instances: Instances
) -> None:
    await seed(db)
    contradictory = {**instances.env, "GITLAB_URL": "https://gitlab.elsewhere.example"}

    code, stdout, stderr = await refresh_cli(db, contradictory)

    assert code == 1 and stdout == ""
    problems = [line for line in stderr.splitlines() if "GITLAB_URL" in line]
    assert len(problems) == 1
    assert "https://gitlab.elsewhere.example is none of the GITLAB_INSTANCES URLs" in problems[0]
    assert not any(token in stderr for token in TOKENS.values())
    assert all(recorder.seen == [] for recorder in instances.recorders.values())
