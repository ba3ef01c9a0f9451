"""Where a source puts its records: the Loader, or a Recording of them to load later.

An import from an API fetches every page first, into a Recording, and only then opens the
database's write transaction and replays it into the Loader: no write lock (SQLite's is
the whole database) and no row lock is ever held across an upstream fetch, so a user's
write never waits on a slow or retrying source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.transfer.loader import BATCH_SIZE
from app.transfer.records import Kind


class Sink(Protocol):
    batch_size: int

    async def add(self, kind: Kind, records: Iterable[Any]) -> None: ...

    def refuse(self, kind: Kind, label: str, reason: str) -> None: ...

    async def flush(self, kind: Kind | None = None) -> None: ...


@dataclass(slots=True)
class Recording:
    """The calls a source made, in order, for `replay` into a Loader."""

    batch_size: int = BATCH_SIZE
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    async def add(self, kind: Kind, records: Iterable[Any]) -> None:
        self.calls.append(("add", (kind, list(records))))

    def refuse(self, kind: Kind, label: str, reason: str) -> None:
        self.calls.append(("refuse", (kind, label, reason)))

    async def flush(self, kind: Kind | None = None) -> None:
        self.calls.append(("flush", (kind,)))

    async def replay(self, sink: Sink) -> None:
        for name, arguments in self.calls:
            if name == "add":
                await sink.add(*arguments)
            elif name == "refuse":
                sink.refuse(*arguments)
            else:
                await sink.flush(*arguments)
