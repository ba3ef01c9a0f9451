"""The refresh benchmark's world: a directory shaped like djangopackages' and fakes that
behave like the upstreams it refreshes from, with what every package must serve once
refreshed (`Expected`), derived from the same definitions the fakes answer from.

Package `i` is, by `i % 20`: on gitlab.com (0), on Codeberg (1), on PyPI only (2), else on
GitHub; three in four also have a PyPI project. The GitHub repositories answer
/stats/commit_activity with 202 one to three times before a 200, as GitHub does; one in
ten was renamed (GraphQL names the new repository, REST answers 301), one in 25 is busy
(some 30-40 commits a week, so its year of history is 16-21 pages of 100), one in 50 has
150 contributors (two pages), one in 89 is empty, one in 31 archived. A package on no
forge keeps the figures it was seeded with: `[]` weeks (unknown), never made-up zeros.

Everything is a function of the package number and `now`, so the process serving the
fakes and the one checking the results build the same world.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from app.forges.weeks import window
from tests.fakes import FakeGitHub, FakeRepo
from tests.fakes.answers import Commit
from tests.fakes.forgejo import FakeForgejo, ForgejoRepo
from tests.fakes.gitlab import FakeGitLab, GitLabProject
from tests.fakes.pypi import FakePyPI, PypiProject

PYTHON3 = "Programming Language :: Python :: 3"


@dataclass(frozen=True, slots=True)
class Expected:
    """What a package must serve after a complete refresh."""

    forge: str  # "github", "gitlab", "forgejo", or "" for none
    repo_url: str | None
    repo_watchers: int
    repo_forks: int
    repo_description: str
    participants: list[str]
    commits_over_52: list[int]
    last_updated: dt.datetime | None
    archived: bool
    pypi_version: str | None
    supports_python3: bool | None

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}


# The fields compared, each as the package row holds it (`archived`: a date is set or not).
FIELDS = (
    "repo_url",
    "repo_watchers",
    "repo_forks",
    "repo_description",
    "participants",
    "commits_over_52",
    "last_updated",
    "archived",
    "pypi_version",
    "supports_python3",
)


@dataclass
class World:
    github: FakeGitHub = field(default_factory=FakeGitHub)
    gitlab: FakeGitLab = field(default_factory=FakeGitLab)
    codeberg: FakeForgejo = field(default_factory=FakeForgejo)
    pypi: FakePyPI = field(default_factory=FakePyPI)
    packages: list[dict[str, Any]] = field(default_factory=list)  # slug, repo_url, pypi_url
    expected: dict[str, Expected] = field(default_factory=dict)

    @property
    def github_packages(self) -> int:
        return sum(1 for item in self.expected.values() if item.forge == "github")


def kind_of(number: int) -> str:
    return {0: "gitlab", 1: "forgejo", 2: ""}.get(number % 20, "github")


def build(count: int, now: dt.datetime) -> World:
    world = World()
    recent = now.replace(microsecond=0) - dt.timedelta(days=2)
    for number in range(count):
        slug = f"package-{number}"
        kind = kind_of(number)
        with_pypi = kind == "" or number % 4 != 3
        pypi_version, python3 = _pypi(world, number) if with_pypi else (None, None)
        if kind == "github":
            repo_url, expected = _github(world, number, recent)
        elif kind == "gitlab":
            repo_url, expected = _gitlab(world, number, recent, now)
        elif kind == "forgejo":
            repo_url, expected = _codeberg(world, number, recent, now)
        else:
            repo_url, expected = None, _unfetched()
        world.packages.append(
            {
                "slug": slug,
                "repo_url": repo_url,
                "pypi_url": f"https://pypi.org/project/{slug}/" if with_pypi else "",
            }
        )
        world.expected[slug] = Expected(
            forge=kind, pypi_version=pypi_version, supports_python3=python3, **expected
        )
    return world


def _unfetched() -> dict[str, Any]:
    # Seeded values: a package on no forge is never given figures it does not have.
    return {
        "repo_url": None,
        "repo_watchers": 0,
        "repo_forks": 0,
        "repo_description": "",
        "participants": [],
        "commits_over_52": [],
        "last_updated": None,
        "archived": False,
    }


def _github(world: World, number: int, recent: dt.datetime) -> tuple[str, dict[str, Any]]:
    owner, name = f"owner{number % 97}", f"repo{number}"
    renamed = number % 10 == 5
    empty = number % 89 == 4
    busy = number % 25 == 0
    if empty:
        weeks = [0] * 52
    elif busy:
        weeks = [30 + (number + week) % 11 for week in range(52)]
    else:
        weeks = [(number + week) % 5 for week in range(52)]
    contributors = 150 if number % 50 == 7 else number % 12 + 1
    repo = world.github.add(
        FakeRepo(
            owner=owner,
            name=f"{name}-renamed" if renamed else name,
            stars=number * 7 % 5000,
            forks=number % 300,
            description=None if number % 13 == 0 else f"Package {number}",
            archived=number % 31 == 7,
            last_commit=None if empty else recent - dt.timedelta(minutes=number),
            contributors=[] if empty else [f"dev{number}-{k}" for k in range(contributors)],
            weeks=weeks,
            older_commits=0 if empty else 2,
            stats_pending=1 + number % 3,
        )
    )
    if renamed:
        world.github.rename(f"{owner}/{name}", repo)
    return f"https://github.com/{owner}/{name}", {
        "repo_url": f"https://github.com/{repo.full_name}",
        "repo_watchers": repo.stars,
        "repo_forks": repo.forks,
        "repo_description": repo.description or "",
        "participants": list(repo.contributors),
        "commits_over_52": list(repo.weeks),
        "last_updated": repo.last_commit,
        "archived": repo.archived,
    }


def _gitlab(
    world: World, number: int, recent: dt.datetime, now: dt.datetime
) -> tuple[str, dict[str, Any]]:
    path = f"group{number % 7}/sub/proj{number}"
    names = [f"Dev {number} {k}" for k in range(3)]
    commits = [
        Commit(recent - dt.timedelta(days=4 * k, minutes=number), name=names[k % 3])
        for k in range(number % 9 + 1)
    ]
    project = world.gitlab.add(
        GitLabProject(
            path,
            stars=number % 400,
            forks=number % 40,
            description=None if number % 3 == 0 else f"On GitLab {number}",
            contributors=[(n, f"dev{k}@example.org", 30 - k) for k, n in enumerate(names)],
            commits=commits,
        )
    )
    dates = [commit.when for commit in commits]
    return f"https://gitlab.com/{path}", {
        "repo_url": f"https://gitlab.com/{path}",
        "repo_watchers": project.stars,
        "repo_forks": project.forks,
        "repo_description": project.description or "",
        "participants": names,  # by commits, most first
        "commits_over_52": window(now).totals(dates),
        "last_updated": max(dates),
        "archived": False,
    }


def _codeberg(
    world: World, number: int, recent: dt.datetime, now: dt.datetime
) -> tuple[str, dict[str, Any]]:
    full_name = f"team{number % 5}/berg{number}"
    # Three authors with 3, 2 and 1 commits in the year: the ranking is unambiguous.
    logins = [f"alice{number}"] * 3 + [f"bob{number}"] * 2 + [f"carol{number}"]
    commits = [
        Commit(recent - dt.timedelta(days=3 * k, minutes=number), login=login)
        for k, login in enumerate(logins)
    ]
    repo = world.codeberg.add(
        ForgejoRepo(
            full_name,
            stars=number % 90,
            forks=number % 9,
            description=f"On Codeberg {number}",
            commits=commits,
        )
    )
    dates = [commit.when for commit in commits]
    return f"https://codeberg.org/{full_name}", {
        "repo_url": f"https://codeberg.org/{full_name}",
        "repo_watchers": repo.stars,
        "repo_forks": repo.forks,
        "repo_description": repo.description,
        "participants": [f"alice{number}", f"bob{number}", f"carol{number}"],
        "commits_over_52": window(now).totals(dates),
        "last_updated": max(dates),
        "archived": False,
    }


def _pypi(world: World, number: int) -> tuple[str, bool]:
    minor = 1 + number % 8
    python3 = number % 6 != 0
    world.pypi.add(
        PypiProject(
            name=f"package-{number}",
            releases={"1.0": [False], f"1.{minor}": [False], "2.0rc1": [False]},
            license_expression="MIT",
            classifiers=[PYTHON3] if python3 else [],
        )
    )
    return f"1.{minor}", python3
