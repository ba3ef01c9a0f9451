"""In-process forge and PyPI clients that answer from a script, and a database to refresh.

They implement the ForgeClient/PypiClient protocols the real clients do, so the
refresher's scheduling, claiming, applying and back-off are tested without HTTP; the
end-to-end tests (test_end_to_end.py) use the real clients against the fakes in tests/fakes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import begin_writing, create_engine, create_sessionmaker
from app.forges.base import (
    ForgeClient,
    Outcome,
    PypiFigures,
    PypiResult,
    RepoFigures,
    RepoKey,
    RepoRequest,
    RepoResult,
    Usage,
)
from app.main import create_app
from app.models import Category, Package
from app.normalize import repo_host_of
from app.refresh.refresher import Refresher
from app.services.tokens import TokenService
from tests.conftest import Databases

Answer = Callable[[RepoRequest], RepoResult]
T = TypeVar("T")


def ok(stars: int = 10, **figures: Any) -> Answer:
    """An OK answer with these figures; the ETag says which request it answers."""

    def answer(request: RepoRequest) -> RepoResult:
        return RepoResult(
            request.key,
            Outcome.OK,
            RepoFigures(stars=stars, **figures),
            etags={"repo": f'"{request.key.path}-{stars}"'},
        )

    return answer


def failing(outcome: Outcome = Outcome.FAILED, error: str = "HTTP 502") -> Answer:
    return lambda request: RepoResult(request.key, outcome, error=error)


@dataclass
class ScriptedForge:
    """A ForgeClient answering each repository path from `answers` (default: OK, 10 stars)."""

    name: str
    answers: dict[str, Answer] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)
    fetched: Counter[str] = field(default_factory=Counter)
    # Set to hold every fetch until the test lets it go.
    gate: asyncio.Event | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    delay: float = 0.0
    cancelled: int = 0  # fetches stopped by a cancellation while in flight
    sent: dict[str, dict[str, str]] = field(default_factory=dict)  # ETags asked with, by path

    async def fetch_many(self, repos: Sequence[RepoRequest], usage: Usage) -> list[RepoResult]:
        self.calls.append([repo.key.path for repo in repos])
        self.sent.update((repo.key.path, dict(repo.etags)) for repo in repos)
        self.fetched.update(repo.key.path for repo in repos)
        usage.requests[self.name] += 1
        self.entered.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return [self.answers.get(repo.key.path, ok())(repo) for repo in repos]


@dataclass
class ScriptedPypi:
    answers: dict[str, PypiResult] = field(default_factory=dict)
    calls: list[tuple[str, str | None]] = field(default_factory=list)

    async def fetch(self, name: str, etag: str | None, usage: Usage) -> PypiResult:
        self.calls.append((name, etag))
        usage.requests["pypi"] += 1
        return self.answers.get(
            name,
            PypiResult(name, Outcome.OK, PypiFigures(version="1.0", supports_python3=True), '"p"'),
        )


@dataclass
class ScriptedForges:
    """The refresher's ForgeDirectory: github.com and gitlab.com are configured."""

    github: ScriptedForge = field(default_factory=lambda: ScriptedForge("github"))
    gitlab: ScriptedForge = field(default_factory=lambda: ScriptedForge("gitlab"))
    pypi_client: ScriptedPypi = field(default_factory=ScriptedPypi)

    @property
    def pypi(self) -> ScriptedPypi:
        return self.pypi_client

    def for_repo(self, repo_url: str) -> tuple[ForgeClient, RepoKey] | None:
        host, _, path = repo_url.removeprefix("https://").partition("/")
        client = {"github.com": self.github, "gitlab.com": self.gitlab}.get(host)
        return (client, RepoKey(host, path)) if client else None

    @asynccontextmanager
    async def opened(self, _settings: Settings) -> AsyncIterator[ScriptedForges]:
        yield self


@dataclass
class Db:
    """A fresh migrated database of the test's dialect, with its own engine."""

    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    category_id: int = 0

    def settings(self, **overrides: Any) -> Settings:
        return Settings(database_url=self.url, **overrides)

    async def add(
        self, slug: str, repo_url: str | None = None, pypi: str = "", **values: Any
    ) -> int:
        # Written as every writer of the app writes (app.db.begin_writing): on SQLite, a
        # transaction begun DEFERRED fails at once, not after the busy timeout, when it
        # meets a refresher's claim holding the write lock.
        async with self.sessionmaker() as session:
            await begin_writing(session)
            package = Package(
                title=slug,
                slug=slug,
                category_id=self.category_id,
                repo_url=repo_url,
                repo_host=repo_host_of(repo_url or ""),
                pypi_url=f"https://pypi.org/project/{pypi}/" if pypi else "",
                **values,
            )
            session.add(package)
            await session.commit()
            return package.id

    async def get(self, slug: str) -> Package:
        async with self.sessionmaker() as session:
            package = await session.scalar(select(Package).where(Package.slug == slug))
            assert package is not None
            return package

    async def set(self, slug: str, **values: Any) -> None:
        async with self.sessionmaker() as session:
            await begin_writing(session)
            await session.execute(update(Package).where(Package.slug == slug).values(**values))
            await session.commit()


@asynccontextmanager
async def fresh_db(databases: Databases) -> AsyncIterator[Db]:
    url = await databases.fresh()
    engine = create_engine(Settings(database_url=url))
    try:
        maker = create_sessionmaker(engine)
        async with maker() as session:
            category = Category(title="Apps", slug="apps")
            session.add(category)
            await session.commit()
        yield Db(url, engine, maker, category.id)
    finally:
        await engine.dispose()


@asynccontextmanager
async def serving_app(
    db: Db, forges: ScriptedForges, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = create_app(db.settings(**settings))
    app.state.open_forges = forges.opened
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, app


@asynccontextmanager
async def serving(
    db: Db, forges: ScriptedForges, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Refresher]]:
    async with serving_app(db, forges, **settings) as (client, app):
        yield client, app.state.refresh_service


async def token(db: Db, scope: str = "write") -> dict[str, str]:
    async with db.sessionmaker() as session:
        await begin_writing(session)
        _, plain = await TokenService(session).create(f"t-{scope}", scope)
        await session.commit()
    return {"Authorization": f"Bearer {plain}"}


@asynccontextmanager
async def running(work: Coroutine[Any, Any, T]) -> AsyncIterator[asyncio.Task[T]]:
    """`work` as a task for the block, cancelled and awaited on the way out: a test that
    fails midway leaves no refresher running on into the next tests (the event loop is the
    session's), nor connections that outlive the test's engine."""
    task = asyncio.create_task(work)
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def ago(**delta: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(**delta)
