"""`packages-api` as a process of its own, started as `asyncio.create_subprocess_exec` would.

`start(*args, ...)` answers a process object with the same surface (pid, returncode,
stdin/stdout/stderr streams, send_signal, kill, terminate, wait, communicate). The
process comes from this worker's fork server (tests/forkserver.py), which has the app
imported already: a run costs what its command does, not 1 to 1.5 s of imports. It is
still a process of its own with the run's arguments, environment, working directory and
standard streams, running the console script's `main()`.

A run is started as a new process instead (the installed script, exec'd) when its
environment differs from the server's in what is read at start-up or import
(STARTUP_ENVIRONMENT), or with CLI_FORKSERVER=0 in the environment (every run: to check
that the suite passes the same both ways).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

EXECUTABLE = Path(sys.executable).parent / "packages-api"
ROOT = Path(__file__).resolve().parents[1]
PIPE = asyncio.subprocess.PIPE
STDOUT = asyncio.subprocess.STDOUT
DEVNULL = asyncio.subprocess.DEVNULL
READY_BOUND = 120.0  # the server's imports, on a machine busy with the suite

# Read when an interpreter starts or when a library is imported, so a fork of a server that
# started with other values would not see the run's: the interpreter's own settings
# (PYTHON*, the locale's encoding), prometheus_client's multiprocess mode, Typer's
# terminal and colour choices.
STARTUP_ENVIRONMENT = (
    "PYTHON",
    "LANG",
    "LC_",
    "PROMETHEUS_MULTIPROC_DIR",
    "prometheus_multiproc_dir",
    "TYPER_",
    "_TYPER_",
    "TERMINAL_WIDTH",
    "GITHUB_ACTIONS",
    "FORCE_COLOR",
    "PY_COLORS",
)

Stream = int | IO[Any] | None


class ForkServer:
    """This worker's fork server, started at its first use, stopped with the worker."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="packages-api-forkserver-"))
        self.path = str(self.directory / "socket")
        lifeline_read, self._lifeline = os.pipe()
        self.environment = dict(os.environ)
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter)
            [sys.executable, "-m", "tests.forkserver", self.path, str(lifeline_read)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            pass_fds=(lifeline_read,),
        )
        os.close(lifeline_read)
        assert self._process.stdout is not None
        ready = self._process.stdout.readline()
        self._process.stdout.close()
        assert ready == b"ready\n", f"the fork server did not start: {ready!r}"
        atexit.register(self.stop)

    def stop(self) -> None:
        """Closing the lifeline stops the server (and its runs' monitors go on alone)."""
        os.close(self._lifeline)
        self._process.wait(timeout=30)

    def serves(self, env: dict[str, str]) -> bool:
        def startup(values: dict[str, str]) -> dict[str, str]:
            return {k: v for k, v in values.items() if k.startswith(STARTUP_ENVIRONMENT)}

        return startup(env) == startup(self.environment)


_server: ForkServer | None = None


async def _fork_server() -> ForkServer:
    global _server
    if _server is None:
        _server = await asyncio.wait_for(asyncio.to_thread(ForkServer), READY_BOUND)
    return _server


def _forkserver_enabled() -> bool:
    return os.environ.get("CLI_FORKSERVER", "1") != "0"


class ForkedProcess:
    """A run of the fork server's, as asyncio.subprocess.Process shows a process."""

    def __init__(
        self,
        pid: int,
        status: asyncio.StreamReader,
        status_writer: asyncio.StreamWriter,
        stdin: asyncio.StreamWriter | None,
        stdout: asyncio.StreamReader | None,
        stderr: asyncio.StreamReader | None,
    ) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._status = status
        self._status_writer = status_writer
        self._exited: asyncio.Task[int] = asyncio.ensure_future(self._read_exit())

    async def _read_exit(self) -> int:
        line = await self._status.readline()
        self._status_writer.close()
        # The monitor reports the exit code; nothing (an empty line) if it died first.
        self.returncode = int(line) if line.strip() else -signal.SIGKILL
        return self.returncode

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def communicate(self, input: bytes | None = None) -> tuple[bytes, bytes]:
        async def feed() -> None:
            if self.stdin is None:
                return
            if input:
                self.stdin.write(input)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    await self.stdin.drain()
            self.stdin.close()

        async def read(stream: asyncio.StreamReader | None) -> bytes:
            return b"" if stream is None else await stream.read()

        _, out, err = await asyncio.gather(feed(), read(self.stdout), read(self.stderr))
        await self.wait()
        return out, err


async def start(
    *args: str,
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
) -> ForkedProcess | asyncio.subprocess.Process:
    """`packages-api ARGS` in a process of its own (see the module's docstring)."""
    environment = dict(os.environ if env is None else env)
    if _forkserver_enabled():
        server = await _fork_server()
        if server.serves(environment):
            return await _forked(server, args, stdin, stdout, stderr, environment, cwd)
    return await asyncio.create_subprocess_exec(
        str(EXECUTABLE), *args, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=cwd
    )


async def _forked(
    server: ForkServer,
    args: tuple[str, ...],
    stdin: Stream,
    stdout: Stream,
    stderr: Stream,
    env: dict[str, str],
    cwd: Path | str | None,
) -> ForkedProcess:
    loop = asyncio.get_running_loop()
    passed: list[int] = []  # the child's ends, sent to it and closed here
    ours: dict[str, int] = {}  # our ends of its pipes

    def target(name: str, stream: Stream, reading: bool) -> int:
        if stream is None:
            return {"stdin": 0, "stdout": 1, "stderr": 2}[name]
        if stream == PIPE:
            read_end, write_end = os.pipe()
            child, mine = (read_end, write_end) if reading else (write_end, read_end)
            ours[name] = mine
            passed.append(child)
            return child
        if stream == DEVNULL:
            fd = os.open(os.devnull, os.O_RDWR)
            passed.append(fd)
            return fd
        if isinstance(stream, int):
            return stream
        return stream.fileno()

    fds = [target("stdin", stdin, reading=True), target("stdout", stdout, reading=False)]
    fds.append(fds[1] if stderr == STDOUT else target("stderr", stderr, reading=False))
    request = {
        "argv": [str(EXECUTABLE), *args],
        "env": env,
        "cwd": str(cwd if cwd is not None else os.getcwd()),
    }
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(server.path)
        socket.send_fds(connection, [json.dumps(request).encode()], fds)
    except BaseException:
        connection.close()
        for fd in passed + list(ours.values()):
            os.close(fd)
        raise
    for fd in passed:
        os.close(fd)
    connection.setblocking(False)
    status, status_writer = await asyncio.open_unix_connection(sock=connection)
    pid = int(await status.readline())

    async def reader(fd: int) -> asyncio.StreamReader:
        stream = asyncio.StreamReader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(stream, loop=loop)
        await loop.connect_read_pipe(lambda: protocol, os.fdopen(fd, "rb", buffering=0))
        return stream

    async def writer(fd: int) -> asyncio.StreamWriter:
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(fd, "wb", buffering=0)
        )
        return asyncio.StreamWriter(transport, protocol, None, loop)

    return ForkedProcess(
        pid,
        status,
        status_writer,
        await writer(ours["stdin"]) if "stdin" in ours else None,
        await reader(ours["stdout"]) if "stdout" in ours else None,
        await reader(ours["stderr"]) if "stderr" in ours else None,
    )
