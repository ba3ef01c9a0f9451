"""How a source tells the caller how far it got (a progress bar, or nothing)."""

from __future__ import annotations

from typing import Protocol

from app.transfer.records import Kind


class Progress(Protocol):
    def total(self, kind: Kind, total: int | None) -> None:
        """How many records of `kind` the source has, when it says."""

    def advance(self, kind: Kind, count: int) -> None:
        """`count` more records of `kind` were read."""


class NoProgress:
    def total(self, kind: Kind, total: int | None) -> None:
        pass

    def advance(self, kind: Kind, count: int) -> None:
        pass
