"""A fork server for the `packages-api` command: the suite's CLI runs without its import cost.

The suite runs the command some 190 times, as a user does: a new process with its own
arguments, environment, working directory and standard streams. Most of each run's CPU
(1 to 1.5 s of the 1.2 to 2 s it takes) went to importing the app and its libraries
again. This server imports them once, then forks a child per run that becomes the command:
it takes the run's stdin, stdout and stderr (file descriptors passed over a Unix socket),
environment, working directory and arguments, and calls the console script's `main()` at
the top level of `__main__`, so that its exit (a code, an uncaught exception, a
KeyboardInterrupt, a signal) is the interpreter's own, atexit handlers included.

Between the server and each child sits a monitor: it forks the child, tells the client the
child's pid (to signal it), waits for it, and reports its exit code as `subprocess` does
(negative for a signal). The server stays single-threaded and never runs an event loop, so
a child starts from an interpreter that has only imported modules.

What a fork cannot change is read by the interpreter or a library at start-up or at import
(tests/cli_process.py: STARTUP_ENVIRONMENT); a run whose environment differs there is
started as a new process instead.

Run by tests/cli_process.py as `python -m tests.forkserver SOCKET LIFELINE_FD`: it prints
`ready` once listening, and exits when the lifeline (a pipe its client holds) closes.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import select
import signal
import socket
import sys
import threading
import time
from typing import Any

MAX_REQUEST = 1 << 20
STREAMS = 3  # stdin, stdout, stderr


def _preload() -> None:
    import app.cli
    import app.main  # for `serve`: what uvicorn imports from the app

    for entry_point in app.cli.COMMANDS.values():
        importlib.import_module(entry_point.split(":")[0])


def _serve(path: str, lifeline: int) -> dict[str, Any]:
    """Accept runs until the lifeline closes; in a forked child, return that run's request."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    # Monitors are reaped by the kernel; each monitor waits for its own child.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([listener, lifeline], [], [])
        if lifeline in readable:  # the client is gone: so is its directory
            os.unlink(path)
            os.rmdir(os.path.dirname(path))
            raise SystemExit(0)
        connection, _ = listener.accept()
        message, fds, _, _ = socket.recv_fds(connection, MAX_REQUEST, STREAMS)
        if os.fork() == 0:
            listener.close()
            os.close(lifeline)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            child = os.fork()
            if child == 0:
                connection.close()
                _take_streams(fds)
                request: dict[str, Any] = json.loads(message)
                return request
            for fd in fds:
                os.close(fd)
            connection.sendall(f"{child}\n".encode())
            _, status = os.waitpid(child, 0)
            connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            os._exit(0)
        connection.close()
        for fd in fds:
            os.close(fd)


def _take_streams(fds: list[int]) -> None:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds) - {0, 1, 2}:
        os.close(fd)


def _become(request: dict[str, Any]) -> None:
    """This process becomes the run: its environment, directory and arguments."""
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    os.chdir(request["cwd"])
    sys.argv = request["argv"]
    # As the console script has it: the script's directory first on the path.
    sys.path[0] = os.path.dirname(request["argv"][0])
    # And `__main__` as a script's (Click names the program after it in usage lines).
    main = sys.modules["__main__"]
    main.__package__, main.__spec__, main.__file__ = None, None, request["argv"][0]
    random.seed()  # not the sequence every child would otherwise share


if __name__ == "__main__":
    _preload()
    # Forking is only safe from a single thread: nothing imported may have started one.
    assert threading.active_count() == 1, threading.enumerate()
    _become(_serve(sys.argv[1], int(sys.argv[2])))
    from app.cli import main

    sys.exit(main())
