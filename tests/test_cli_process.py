"""The suite's fork server (tests/forkserver.py) runs `packages-api` as the installed script
does: the same output, exit codes and signals, in a process of its own."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests import cli_process
from tests.cli_process import EXECUTABLE, PIPE


@pytest.fixture(autouse=True)
def _fork_server_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the fork server: on even where CLI_FORKSERVER=0 exec's the rest."""
    monkeypatch.setenv("CLI_FORKSERVER", "1")


RUNS = [
    ("--help",),
    ("import", "--help"),
    ("tokens", "list"),  # no such database: an error on stderr, exit 1
    ("no-such-command",),
]


async def _exec(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        str(EXECUTABLE), *args, stdout=PIPE, stderr=PIPE, env=env, cwd=cwd
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out, err


async def _forked(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, bytes, bytes]:
    process = await cli_process.start(*args, stdout=PIPE, stderr=PIPE, env=env, cwd=cwd)
    assert isinstance(process, cli_process.ForkedProcess)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out, err


@pytest.mark.parametrize("args", RUNS, ids=" ".join)
async def test_a_forked_run_answers_as_the_installed_script(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    # A relative SQLite path: it resolves against the run's own working directory.
    env = {**os.environ, "DATABASE_URL": "sqlite+aiosqlite:///missing/x.db", "COLUMNS": "90"}

    assert await _forked(*args, env=env, cwd=tmp_path) == await _exec(*args, env=env, cwd=tmp_path)


async def test_a_forked_run_reads_its_stdin_and_takes_signals(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    # `import -` reads stdin: a broken document is refused with exit 2 (a usage error).
    process = await cli_process.start(
        "import", "-", stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env, cwd=tmp_path
    )
    _, err = await process.communicate(b"{not json")
    assert process.returncode not in (0, None), err

    # `serve` until SIGINT, then exits as uvicorn does on Ctrl-C.
    port = "0"
    server = await cli_process.start(
        "serve", "--port", port, stdout=PIPE, stderr=PIPE, env=env, cwd=tmp_path
    )
    assert server.stderr is not None
    while b"Uvicorn running" not in await asyncio.wait_for(server.stderr.readline(), 120):
        pass
    server.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(server.wait(), 30) == 0


async def test_a_run_whose_startup_environment_differs_is_exec_d(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = await cli_process.start("--help", stdout=PIPE, env=env, cwd=tmp_path)
    await process.communicate()

    assert isinstance(process, asyncio.subprocess.Process)
