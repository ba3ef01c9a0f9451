"""The database going away under load, seen by clients of a live `packages-api serve`.

PostgreSQL: its backends are killed (pg_terminate_backend, on this test's database only)
and then it becomes unreachable (the app talks to it through a loopback proxy the test
takes down). SQLite: another connection holds the write lock. Either way every answer is
a 2xx or a 503 with Retry-After (never a hang, a 500 or a traceback), the service comes
back by itself, and every write it acknowledged is in the database.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.services.tokens import TokenService
from tests.conftest import Databases
from tests.faults.load import Load
from tests.faults.tcp_proxy import TcpProxy
from tests.test_cli import serving

# "Within seconds": measured from the fault's end to the first good read and write.
RECOVERY_BOUND = 10.0


async def _token(url: str) -> str:
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as session:
            _, plain = await TokenService(session).create("load", "write")
            await session.commit()
    finally:
        await engine.dispose()
    return plain


async def _stored_slugs(url: str) -> set[str]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            return set((await connection.scalars(text("SELECT slug FROM categories"))).all())
    finally:
        await engine.dispose()


async def _terminate_backends(url: str) -> int:
    """Kill every connection to this test's own database (never another one's)."""
    name = make_url(url).database
    engine = create_engine(Settings(database_url=url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            killed = await connection.scalars(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            return sum(1 for ok in killed if ok)
    finally:
        await engine.dispose()


def _check_answers(load: Load) -> None:
    assert load.answers, "the load sent nothing"
    hung = [a for a in load.answers if a.status is None]
    assert not hung, hung[:3]
    unexpected = [a for a in load.answers if a.status not in {200, 201, 503}]
    assert not unexpected, unexpected[:3]
    for answer in load.answers:
        assert "Traceback" not in answer.body
        if answer.status == 503:
            assert answer.retry_after is not None and answer.retry_after.isdigit(), answer
            assert json.loads(answer.body)["code"] == "unavailable", answer


async def _wait_recovered(load: Load, since: float) -> tuple[float, float]:
    """Seconds from `since` to the first good read and the first good write."""
    deadline = since + RECOVERY_BOUND * 3
    while time.monotonic() < deadline:
        read = load.first_success_after(since, "read")
        write = load.first_success_after(since, "write")
        if read is not None and write is not None:
            return read, write
        await asyncio.sleep(0.1)
    raise AssertionError(f"no recovery within {RECOVERY_BOUND * 3} s: {load.statuses('after')}")


async def test_the_database_going_away_is_503_then_recovers_and_keeps_every_acknowledged_write(
    databases: Databases, dialect: str, tmp_path: Path
) -> None:
    url = await databases.fresh()
    token = await _token(url)
    if dialect == "postgresql":
        await _postgresql_faults(url, token, tmp_path)
    else:
        await _sqlite_locked(url, token, tmp_path)


async def _postgresql_faults(url: str, token: str, tmp_path: Path) -> None:
    direct = make_url(url)
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    await proxy.start()
    proxied = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = {"DB_POOL_SIZE": "4", "DB_MAX_OVERFLOW": "2", "DB_POOL_TIMEOUT": "5"}
    try:
        async with serving(proxied, tmp_path, **env) as server:
            load = Load(server.base_url, token)
            running = asyncio.create_task(load.run())
            # Until the app has written through its pool (a busy machine starts it slowly):
            # then its pooled connections are there to kill.
            for _ in range(600):
                if load.statuses("steady")[201] > 0:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)

            load.phase = "terminated"
            killed = 0
            for _ in range(4):
                killed += await _terminate_backends(url)
                await asyncio.sleep(0.4)
            load.phase = "down"
            await proxy.stop()
            await asyncio.sleep(3.0)
            load.phase = "after"
            back = time.monotonic()
            await proxy.start()
            read_after, write_after = await _wait_recovered(load, back)
            await asyncio.sleep(1.0)
            load.stop()
            await running
            output = server.output()
    finally:
        await proxy.stop()

    _check_answers(load)
    assert killed > 0  # the app's pooled connections were there to kill
    assert load.statuses("down")[503] > 0, load.statuses("down")
    assert load.statuses("steady")[201] > 0 and load.statuses("after")[201] > 0
    assert read_after < RECOVERY_BOUND and write_after < RECOVERY_BOUND
    stored = await _stored_slugs(url)
    lost = [slug for slug in load.acknowledged if slug not in stored]
    assert not lost, lost
    assert "Traceback" not in output, output[-3000:]
    print(
        f"\npostgresql faults: {len(load.answers)} answers {dict(load.statuses())}, "
        f"killed {killed} backends, recovered in {read_after:.2f} s (read) "
        f"{write_after:.2f} s (write)"
    )


async def _sqlite_locked(url: str, token: str, tmp_path: Path) -> None:
    async with serving(url, tmp_path, SQLITE_BUSY_TIMEOUT_MS="200") as server:
        load = Load(server.base_url, token)
        running = asyncio.create_task(load.run())
        await asyncio.sleep(1.0)
        blocker = create_engine(Settings(database_url=url))
        try:
            async with blocker.connect() as holder:
                # Another process's writer holds the lock (our begin hook: BEGIN IMMEDIATE).
                await holder.execution_options(sqlite_write=True)
                await holder.execute(text("SELECT 1"))
                load.phase = "down"
                await asyncio.sleep(2.0)
                load.phase = "after"
                back = time.monotonic()
                await holder.rollback()
        finally:
            await blocker.dispose()
        read_after, write_after = await _wait_recovered(load, back)
        await asyncio.sleep(0.5)
        load.stop()
        await running
        output = server.output()

    _check_answers(load)
    down = load.statuses("down")
    assert down[503] > 0 and down[200] > 0, down  # writes wait and give up; reads go on (WAL)
    assert read_after < RECOVERY_BOUND and write_after < RECOVERY_BOUND
    stored = await _stored_slugs(url)
    assert not [slug for slug in load.acknowledged if slug not in stored]
    assert "Traceback" not in output, output[-3000:]
