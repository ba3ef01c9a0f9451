"""What an import did: counts per resource, and every refused record with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.transfer.records import KINDS, Kind


@dataclass(slots=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    kind: Kind
    label: str
    reason: str


@dataclass(slots=True)
class Summary:
    """What a load did, per resource, and why each refused record was refused."""

    counts: dict[Kind, Counts] = field(default_factory=lambda: {kind: Counts() for kind in KINDS})
    refused: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def refuse(self, kind: Kind, label: str, reason: str) -> None:
        self.counts[kind].refused += 1
        self.refused.append(Problem(kind, label, reason))

    def warn(self, kind: Kind, label: str, reason: str) -> None:
        self.warnings.append(Problem(kind, label, reason))

    @property
    def is_empty(self) -> bool:
        """Not one record read: none counted, refused or warned about."""
        if self.refused or self.warnings:
            return False
        return not any(
            counts.created or counts.updated or counts.unchanged for counts in self.counts.values()
        )
