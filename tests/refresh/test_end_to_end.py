"""End to end: the real forge clients against the fakes over loopback, driven the way a user
drives them (the `packages-api refresh` command, the POST endpoint), read back through the API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.config import Settings
from app.forges.registry import open_forges
from app.main import create_app
from app.refresh.refresher import Refresher
from app.refresh.repository import Selection
from app.services.tokens import TokenService
from tests import cli_process
from tests.fakes import FakeGitHub, FakeRepo, Fault, Recorder, serve_on_loopback
from tests.fakes.answers import Commit
from tests.fakes.forgejo import FakeForgejo, ForgejoRepo
from tests.fakes.gitlab import FakeGitLab, GitLabProject
from tests.fakes.pypi import FakePyPI, PypiProject
from tests.refresh.doubles import Db
from tests.test_cli import packages_api

RECENT = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)


@dataclass
class Upstreams:
    github: FakeGitHub
    gitlab: FakeGitLab
    forgejo: FakeForgejo
    pypi: FakePyPI
    recorders: dict[str, Recorder]
    env: dict[str, str]
    gitlab_host: str

    def settings(self, db: Db, **overrides: Any) -> Settings:
        values: dict[str, Any] = {key.lower(): value for key, value in self.env.items()}
        values["forgejo_instances"] = self.env["FORGEJO_INSTANCES"]
        return db.settings(**{**values, **overrides})

    def requests(self) -> dict[str, int]:
        return {name: len(recorder.seen) for name, recorder in self.recorders.items()}


@pytest_asyncio.fixture
async def upstreams() -> AsyncIterator[Upstreams]:
    github, gitlab, forgejo, pypi = FakeGitHub(), FakeGitLab(), FakeForgejo(etags=True), FakePyPI()
    github.add(
        FakeRepo(
            "acme",
            "shop",
            stars=420,
            forks=31,
            description="A shop",
            last_commit=RECENT,
            contributors=["ann", "bob"],
            weeks=[1] * 52,
        )
    )
    gitlab.add(
        GitLabProject(
            "group/sub/lab",
            stars=12,
            forks=2,
            description=None,
            contributors=[("Carol", "carol@example.org", 5)],
            commits=[Commit(RECENT, name="Carol", email="carol@example.org")],
        )
    )
    forgejo.add(
        ForgejoRepo(
            "team/berg",
            stars=8,
            forks=1,
            description="On Codeberg",
            commits=[Commit(RECENT, login="dana")],
        )
    )
    for name, python3 in (("django-shop", True), ("pure-lib", False)):
        pypi.add(
            PypiProject(
                name,
                releases={"1.0": [False], "2.0": [False], "3.0b1": [True]},
                license_expression="MIT",
                requires_python=">=3.10" if python3 else None,
                classifiers=["Programming Language :: Python :: 3"] if python3 else [],
                project_urls={"Documentation": f"https://{name}.readthedocs.io/"},
            )
        )
    recorders = {
        name: Recorder(fake.app)
        for name, fake in (
            ("github", github),
            ("gitlab", gitlab),
            ("forgejo", forgejo),
            ("pypi", pypi),
        )
    }
    async with (
        serve_on_loopback(recorders["github"]) as github_base,
        serve_on_loopback(recorders["gitlab"]) as gitlab_base,
        serve_on_loopback(recorders["forgejo"]) as forgejo_base,
        serve_on_loopback(recorders["pypi"]) as pypi_base,
    ):
        env = {
            "GITHUB_API_URL": github_base,
            "GITHUB_GRAPHQL_URL": f"{github_base}/graphql",
            "GITHUB_TOKEN": "test-token",
            "GITLAB_URL": gitlab_base,
            "FORGEJO_INSTANCES": f"codeberg.org={forgejo_base}/api/v1",
            "PYPI_URL": pypi_base,
            "UPSTREAM_RETRY_ATTEMPTS": "1",
            "UPSTREAM_MAX_WAIT": "1",
        }
        yield Upstreams(
            github, gitlab, forgejo, pypi, recorders, env, gitlab_base.removeprefix("http://")
        )


async def seed_mixed(db: Db, upstreams: Upstreams) -> None:
    await db.add("shop", "https://github.com/acme/shop", pypi="django-shop")
    await db.add("lab", f"https://{upstreams.gitlab_host}/group/sub/lab")
    await db.add("berg", "https://codeberg.org/team/berg")
    await db.add("elsewhere", "https://git.example.org/team/thing", pypi="pure-lib")
    await db.add("pypi-only", pypi="django-shop", documentation_url="https://mine.example.org/")


async def refresh_cli(db: Db, upstreams: Upstreams, *args: str) -> tuple[int, str, str]:
    result = await packages_api(db.url, "refresh", *args, cwd=None, **upstreams.env)
    return result.code, result.stdout, result.stderr


async def read(db: Db, upstreams: Upstreams, *slugs: str) -> dict[str, dict[str, Any]]:
    """The packages as the API serves them."""
    app = create_app(upstreams.settings(db))
    served: dict[str, dict[str, Any]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for slug in slugs:
                response = await client.get(f"/api/v4/packages/{slug}/")
                assert response.status_code == 200
                served[slug] = response.json()
    return served


def outcomes(stdout: str) -> dict[str, int]:
    first = stdout.splitlines()[0]
    inside = first.split("(", 1)[1].split(")", 1)[0]
    return {name: int(count) for name, count in re.findall(r"(\w+) (\d+)", inside)}


async def test_the_cli_refreshes_a_mixed_set_and_a_second_run_is_served_from_304s(
    db: Db, upstreams: Upstreams
) -> None:
    await seed_mixed(db, upstreams)

    code, stdout, stderr = await refresh_cli(db, upstreams)

    assert code == 0, stderr
    assert outcomes(stdout) == {
        "refreshed": 5,
        "unchanged": 0,
        "pending": 0,
        "failed": 0,
        "skipped": 0,
    }
    assert "GitHub rate-limit points:" in stdout
    served = await read(db, upstreams, "shop", "lab", "berg", "elsewhere", "pypi-only")
    shop = served["shop"]
    assert (shop["repo_watchers"], shop["repo_forks"]) == (420, 31)
    assert shop["repo_description"] == "A shop"
    assert shop["participants"] == ["ann", "bob"]
    assert shop["commits_over_52"] == [1] * 52
    assert shop["pypi_version"] == "2.0"
    assert shop["pypi_license"] == "MIT"
    assert shop["supports_python3"] is True
    assert shop["documentation_url"] == "https://django-shop.readthedocs.io/"
    assert shop["last_updated"] == RECENT.isoformat().replace("+00:00", "Z")
    assert shop["last_fetched"] is not None and shop["score"] == 420
    lab = served["lab"]
    assert (lab["repo_watchers"], lab["repo_description"]) == (12, "")
    berg = served["berg"]
    assert (berg["repo_watchers"], berg["repo_description"]) == (8, "On Codeberg")
    elsewhere = served["elsewhere"]
    assert elsewhere["repo_watchers"] == 0 and elsewhere["pypi_version"] == "2.0"
    assert elsewhere["supports_python3"] is False
    pypi_only = served["pypi-only"]
    assert pypi_only["documentation_url"] == "https://mine.example.org/"  # a user's URL stays
    # The unconfigured host was never contacted; only configured upstreams were.
    assert all(
        "git.example.org" not in seen.headers.get("host", "")
        for recorder in upstreams.recorders.values()
        for seen in recorder.seen
    )

    before, points_before = upstreams.requests(), upstreams.github.points
    code, stdout, stderr = await refresh_cli(db, upstreams, "--all")

    assert code == 0, stderr
    assert outcomes(stdout)["unchanged"] == 5
    after = upstreams.requests()
    # GitHub: one GraphQL query (head unchanged: no REST at all); the others answer 304.
    assert after["github"] - before["github"] == 1
    assert upstreams.github.points - points_before == 1
    for name in ("gitlab", "forgejo", "pypi"):
        fresh = upstreams.recorders[name].seen[before[name] :]
        assert fresh and all("if-none-match" in seen.headers for seen in fresh), name
    assert re.search(r"\((\d+) not modified\)", stdout)
    assert "GitHub rate-limit points: 1" in stdout


async def test_an_upstream_failing_halfway_keeps_the_good_data(
    db: Db, upstreams: Upstreams
) -> None:
    await seed_mixed(db, upstreams)
    assert (await refresh_cli(db, upstreams))[0] == 0
    upstreams.github.repos["acme/shop"].stars = 999
    upstreams.gitlab.projects["group/sub/lab"].stars = 999
    upstreams.gitlab.faults.add("/api/v4/projects", Fault(502), times=50)

    code, stdout, stderr = await refresh_cli(db, upstreams, "--all")

    assert code == 0, stderr  # packages failing is not the run failing
    assert outcomes(stdout)["failed"] == 1
    served = await read(db, upstreams, "lab", "shop")
    assert served["lab"]["repo_watchers"] == 12  # the last good figures, kept
    assert served["shop"]["repo_watchers"] == 999
    stored = await db.get("lab")
    assert "502" in stored.refresh_error and stored.refresh_failures == 1
    assert stored.refresh_retry_at is not None


async def test_the_cli_says_which_slugs_do_not_exist(db: Db, upstreams: Upstreams) -> None:
    await db.add("shop", "https://github.com/acme/shop")
    code, _stdout, stderr = await refresh_cli(db, upstreams, "--slug", "shop", "--slug", "nope")
    assert code == 1
    assert "'nope'" in stderr
    assert upstreams.requests()["github"] == 0


async def test_post_refresh_uses_the_real_clients(db: Db, upstreams: Upstreams) -> None:
    await seed_mixed(db, upstreams)
    async with db.sessionmaker() as session:
        _, plain = await TokenService(session).create("ci", "write")
        await session.commit()
    app = create_app(upstreams.settings(db))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for slug in ("shop", "lab", "berg", "elsewhere", "pypi-only"):
                response = await client.post(
                    f"/api/v4/packages/{slug}/refresh/",
                    headers={"Authorization": f"Bearer {plain}"},
                )
                assert response.status_code == 202, response.text
            await app.state.refresh_service.drain()
            packages = {
                slug: (await client.get(f"/api/v4/packages/{slug}/")).json()
                for slug in ("shop", "lab", "berg", "elsewhere", "pypi-only")
            }
    assert packages["shop"]["repo_watchers"] == 420
    assert packages["lab"]["repo_watchers"] == 12
    assert packages["berg"]["repo_watchers"] == 8
    assert all(package["last_fetched"] is not None for package in packages.values())


@pytest.mark.parametrize("option", [["--all", "--stale-hours", "1"], ["--slug", "x", "--all"]])
async def test_the_selections_exclude_each_other(
    db: Db, upstreams: Upstreams, option: list[str]
) -> None:
    code, _stdout, stderr = await refresh_cli(db, upstreams, *option)
    assert code == 1 and "choose one of" in stderr


async def test_ctrl_c_lets_the_batch_in_flight_finish_and_exits_130(
    db: Db, upstreams: Upstreams
) -> None:
    await seed_mixed(db, upstreams)
    upstreams.recorders["github"].latency = 1.0  # the batch is in flight when we interrupt
    process = await cli_process.start(
        "refresh",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            **os.environ,
            "DATABASE_URL": db.url,
            **upstreams.env,
            "REFRESH_BATCH_SIZE": "1",
            "REFRESH_CONCURRENCY": "1",
        },
    )
    for _ in range(600):
        if upstreams.recorders["github"].seen:
            break
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 130, stderr.decode()
    assert "interrupted" in stderr.decode()
    # The package in flight was finished whole; the others were not started.
    shop = await db.get("shop")
    assert shop.last_fetched is not None and shop.repo_watchers == 420
    assert shop.pypi_version == "2.0"
    assert (await db.get("berg")).refresh_attempted_at is None
    for slug in ("shop", "lab", "berg", "elsewhere", "pypi-only"):
        assert (await db.get(slug)).refresh_claimed_by is None
    assert outcomes(stdout.decode())["refreshed"] == 1


async def test_two_refreshers_on_one_database_ask_the_fake_once_per_repository(
    db: Db, upstreams: Upstreams
) -> None:
    names = [f"lib{number}" for number in range(40)]
    for name in names:
        upstreams.github.add(FakeRepo("many", name, stars=3, contributors=["x"]))
        await db.add(name, f"https://github.com/many/{name}")
    upstreams.recorders["github"].latency = 0.02
    settings = upstreams.settings(db, refresh_batch_size=4, refresh_concurrency=2)

    async def one_refresher() -> int:
        # Stale packages only (the default): a package the other refresher finished before
        # this run began is fresh, so a second fetch of it would be a real double claim.
        # (With --all, `stale_after=None`, refetching such a package is what was asked.)
        async with open_forges(settings) as forges:
            summary = await Refresher(db.sessionmaker, forges, settings).run(Selection())
        assert summary.failure is None
        return summary.packages

    counts = await asyncio.gather(one_refresher(), one_refresher())

    assert sum(counts) == len(names) and min(counts) > 0
    contributors = Counter(
        path.split("/")[3]
        for path in upstreams.recorders["github"].paths()
        if path.endswith("/contributors")
    )
    assert contributors == dict.fromkeys(names, 1)
