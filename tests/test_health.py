"""Probes: /healthz says the process answers, /readyz that it can serve (database reachable,
schema at the newest migration, refresher not stuck), for any Host a probe sends."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.migrate import head_revision
from tests.conftest import Databases


def _client(app: Any, base_url: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


class FakeRefresher:
    """What the refresher exposes to /readyz."""

    def __init__(self, stuck: bool) -> None:
        self._stuck = stuck

    def stuck(self) -> bool:
        return self._stuck


async def test_a_ready_service_says_which_checks_passed(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "migrations": True,
        "refresher": True,
    }
    assert body["checks"]["migrations"]["detail"] == f"at head {head_revision()}"


async def test_healthz_answers_without_touching_the_database(tmp_path: Path) -> None:
    # Nothing listens on port 1: any database access would fail.
    app = create_app(Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nothing"))
    async with app.router.lifespan_context(app), _client(app) as client:
        live = await client.get("/healthz")
        ready = await client.get("/readyz")

    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 503
    body = ready.json()
    assert body["code"] == "not_ready"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["migrations"]["ok"] is False
    assert body["checks"]["refresher"]["ok"] is True
    assert "database" in body["detail"]
    assert ready.headers["retry-after"] == "5"


async def test_an_unmigrated_database_is_not_ready(databases: Databases) -> None:
    app = create_app(Settings(database_url=await databases.empty()))
    async with app.router.lifespan_context(app), _client(app) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["migrations"] == {
        "ok": False,
        "detail": f"at no revision, expected {head_revision()}",
    }


async def test_a_stuck_refresher_makes_the_service_not_ready(
    app: Any, client: httpx.AsyncClient
) -> None:
    app.state.refresher = FakeRefresher(stuck=True)
    stuck = await client.get("/readyz")
    app.state.refresher = FakeRefresher(stuck=False)
    running = await client.get("/readyz")

    assert stuck.status_code == 503
    assert stuck.json()["checks"]["refresher"]["ok"] is False
    assert "refresher stuck" in stuck.json()["detail"]
    assert running.status_code == 200
    assert running.json()["checks"]["refresher"] == {"ok": True, "detail": "running"}


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung database)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


async def test_a_database_that_does_not_answer_fails_readiness_within_the_timeout(
    silent_server: int,
) -> None:
    settings = Settings(
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{silent_server}/db",
        readiness_timeout=0.5,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), _client(app) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        response = await client.get("/readyz")
        elapsed = loop.time() - started

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "detail": "no answer within 0.5 s",
    }
    assert elapsed < 5


@pytest.fixture
async def strict_hosts_client(app_factory: Any, database_url: str) -> AsyncIterator[Any]:
    app = await app_factory(
        Settings(database_url=database_url, allowed_hosts="packages.example.org")  # type: ignore[arg-type]
    )
    async with _client(app, "http://10.1.2.3:8000") as client:
        yield client


async def test_probes_answer_whatever_host_the_orchestrator_sends(
    strict_hosts_client: httpx.AsyncClient,
) -> None:
    # Kubernetes probes the pod's address; ALLOWED_HOSTS guards hyperlinks, which probes
    # do not contain.
    assert (await strict_hosts_client.get("/api/v4/")).status_code == 400
    for path in ("/healthz", "/readyz"):
        response = await strict_hosts_client.get(path)
        assert response.status_code == 200, path
        head = await strict_hosts_client.head(path)
        assert head.status_code == 200, path
        assert head.content == b""


async def test_probes_are_documented_as_operations_not_resources(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()

    for path in ("/healthz", "/readyz", "/metrics"):
        assert document["paths"][path]["get"]["tags"] == ["operations"], path
        assert not path.startswith("/api/v4")
    tags = [tag["name"] for tag in document["tags"]]
    assert tags[-1] == "operations"
    resource_paths = [p for p in document["paths"] if p.startswith("/api/v4")]
    for path in resource_paths:
        for operation in document["paths"][path].values():
            assert "operations" not in operation.get("tags", []), path
