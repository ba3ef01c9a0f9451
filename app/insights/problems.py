"""Input refused in several places at once: each place is named, not only the first, so a
client mends its whole request in one go (a lookup's items, a requirements.txt's lines)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar


class Problem(Protocol):
    @property
    def place(self) -> str:
        """Where in the input, as its reader would point at it: `items[3]`, `line 7`."""
        ...

    @property
    def message(self) -> str: ...


P = TypeVar("P", bound=Problem)


class InputProblems(ValueError, Generic[P]):
    def __init__(self, problems: Sequence[P]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.place}: {p.message}" for p in self.problems))
