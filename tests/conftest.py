"""Test fixtures: really migrated databases, SQLite and PostgreSQL, each test rolled back.

Every database test runs twice, once per dialect (the `dialect` parameter). PostgreSQL is
TEST_DATABASE_URL (default: the local server); each test process (each pytest-xdist
worker) creates its own databases there, named after the worker and a random prefix, and
drops them at the end, so workers and runs on one server never meet. SQLite databases are
files in the worker's own temporary directory. When the server cannot be reached the
PostgreSQL half is skipped with the reason, except with CI=true, where it fails.

Each worker migrates one template database per dialect, once; every other database it
hands out (the shared one of the rolled-back tests, `databases.fresh()`) is a copy of it.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

import app.openapi as app_openapi
from app.changes.record import RecordingSession
from app.config import Settings
from app.db import create_engine
from app.main import create_app
from app.migrate import upgrade
from app.services.tokens import TokenService
from tests import serial
from tests.once import forget_callable_kinds, memoized_openapi

DEFAULT_TEST_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

# The suite's processes (pytest-xdist's workers, each one's CLI fork server, the `serve`
# processes and the installed script some tests exec) compile the app and its libraries
# anew without bytecode caches: seconds of CPU each. So they may write them.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# The metrics refresher stays off in tests (and in the servers they start) unless a test
# turns it on: it would otherwise reach for the real forges.
os.environ.setdefault("REFRESH_ENABLED", "false")
os.environ.setdefault("WEBHOOKS_ENABLED", "false")
DIALECTS = ["sqlite", "postgresql"]
DROPS_AT_ONCE = 8  # per worker, at the end of its run (Databases.drop_all)
# "gw0", "gw1"... under pytest-xdist; "main" when the tests run in one process.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL


async def _admin_execute(statement: str) -> None:
    # A job's engine: CREATE and DROP DATABASE may take longer than a request's timeout.
    settings = Settings(database_url=_server_url())
    engine = create_engine(settings, job=True, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _postgres_reachable() -> str | None:
    """None when reachable, else why not."""
    try:
        await asyncio.wait_for(_admin_execute("SELECT 1"), timeout=10)
    except Exception as error:  # any failure to connect means "not reachable"
        return f"{type(error).__name__}: {error}"
    return None


class Databases:
    """Creates throwaway databases of one dialect, migrated to head."""

    def __init__(self, dialect: str, workdir: Path) -> None:
        self.dialect = dialect
        self.workdir = workdir
        self.prefix = f"packages_api_test_{WORKER}_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self._template: str | None = None

    def _url(self, name: str) -> str:
        if self.dialect == "sqlite":
            return f"sqlite+aiosqlite:///{self.workdir / name}.db"
        url = make_url(_server_url()).set(database=name)
        return url.render_as_string(hide_password=False)

    async def migrated(self, name: str) -> str:
        url = self._url(name)
        if self.dialect == "postgresql":
            await _admin_execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
        await asyncio.to_thread(upgrade, Settings(database_url=url))
        return url

    async def empty(self) -> str:
        """A new database with no tables (for SQLite, a file that does not exist yet)."""
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        if self.dialect == "postgresql":
            await _admin_execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
        return self._url(name)

    async def fresh(self) -> str:
        """A new migrated database, copied from a template migrated once per run."""
        if self._template is None:
            self._template = f"{self.prefix}_template"
            await self.migrated(self._template)
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        if self.dialect == "sqlite":
            shutil.copy(self.workdir / f"{self._template}.db", self.workdir / f"{name}.db")
        else:
            await _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
            self.created.append(name)
        return self._url(name)

    async def drop_all(self) -> None:
        # PostgreSQL 15's DROP DATABASE waits for a checkpoint: on a busy server, 25 s for 12
        # drops one after another, 0.6 s for the same 12 at once (drops in flight share one
        # checkpoint). A worker that made 100 databases spent minutes here, after its last
        # test, where no other test could use the time. A few at a time: the run's workers
        # stay far below the server's max_connections.
        limit = asyncio.Semaphore(DROPS_AT_ONCE)

        async def drop(name: str) -> None:
            async with limit:
                await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        results = await asyncio.gather(*map(drop, self.created), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


@pytest.fixture(scope="session", autouse=True)
def _openapi_documents_once() -> Iterator[None]:
    """Apps with the same routes share one generated OpenAPI document (tests/once.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_openapi, "get_openapi", memoized_openapi(app_openapi.get_openapi))
        yield


@pytest.fixture(scope="session", autouse=True)
def _imports_out_of_the_collectors_sight() -> None:
    """What the test process imported (the app, its libraries, the test modules: some
    300,000 objects) lives as long as the process, so the garbage collector need not walk it
    at every full collection: frozen once, as `packages-api serve` does for its app
    (create_served_app). What the tests make afterwards is collected as usual."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _apps_forgotten() -> Iterator[None]:
    """The apps a test built are garbage once it ends (tests/once.py)."""
    yield
    forget_callable_kinds()


@pytest.fixture(autouse=True)
def _machine_turn(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Under pytest-xdist, a `serial` test runs alone (tests/serial.py)."""
    if WORKER == "main":
        yield
        return
    exclusive = request.node.get_closest_marker(serial.MARKER) is not None
    # The workers' base temporary directories share the run's as their parent.
    with serial.turn(tmp_path_factory.getbasetemp().parent, exclusive=exclusive):
        yield


@pytest.fixture(scope="session", params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture(scope="session")
async def databases(
    dialect: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Databases]:
    if dialect == "postgresql":
        problem = await _postgres_reachable()
        if problem:
            message = f"PostgreSQL at TEST_DATABASE_URL is unreachable ({problem})"
            if os.environ.get("CI") == "true":
                pytest.fail(message + "; CI=true requires it")
            pytest.skip(message)
    dbs = Databases(dialect, tmp_path_factory.mktemp(dialect))
    try:
        yield dbs
    finally:
        await dbs.drop_all()


@pytest_asyncio.fixture(scope="session")
async def database_url(databases: Databases) -> str:
    """The worker's database of the rolled-back tests (they never commit to it)."""
    return await databases.fresh()


@pytest_asyncio.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(database_url=database_url))
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection in an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


def bound_sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Each commit of the app releases a SAVEPOINT inside the test's transaction.
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
        # As the app's sessions (app.db.create_sessionmaker): writes record change events.
        sync_session_class=RecordingSession,
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest_asyncio.fixture
async def app_factory(
    connection: AsyncConnection,
) -> AsyncIterator[Callable[[Settings], Awaitable[Any]]]:
    """Builds apps (with their lifespan running) whose sessions live in the test transaction."""
    stack: list[Any] = []

    async def build(settings: Settings) -> Any:
        # No read cache: it learns of writes at their commit, and these never commit (the
        # test's transaction is rolled back). tests/cache/ runs it on committed databases.
        app = create_app(settings.model_copy(update={"cache_enabled": False}))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        stack.append(lifespan)
        app.state.sessionmaker = bound_sessionmaker(connection)
        return app

    yield build
    for lifespan in reversed(stack):
        await lifespan.__aexit__(None, None, None)


@pytest_asyncio.fixture
async def app(app_factory: Callable[[Settings], Awaitable[Any]], settings: Settings) -> Any:
    return await app_factory(settings)


@pytest_asyncio.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def make_token(connection: AsyncConnection, name: str, scope: str) -> str:
    async with bound_sessionmaker(connection)() as session:
        _, plain = await TokenService(session).create(name, scope)
        await session.commit()
    return plain


@pytest_asyncio.fixture
async def write_headers(connection: AsyncConnection) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(connection, 'writer', 'write')}"}


@pytest_asyncio.fixture
async def admin_headers(connection: AsyncConnection) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(connection, 'admin', 'admin')}"}


class StatementCounter:
    """Counts the SQL statements sent on a connection (savepoint bookkeeping aside)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(connection: AsyncConnection) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(connection.sync_connection, "before_cursor_execute", counter)
    yield counter
    event.remove(connection.sync_connection, "before_cursor_execute", counter)
