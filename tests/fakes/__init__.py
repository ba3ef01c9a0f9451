"""Fake upstream servers (GitHub here; GitLab, Forgejo, Bitbucket and PyPI beside it),
served over loopback by `serve_on_loopback`, for the forge tests and the benchmark."""

from tests.fakes.github import FakeGitHub, FakeRepo
from tests.fakes.server import Recorder, Seen, serve_on_loopback
from tests.fakes.world import Fault, Faults

__all__ = [
    "FakeGitHub",
    "FakeRepo",
    "Fault",
    "Faults",
    "Recorder",
    "Seen",
    "serve_on_loopback",
]
