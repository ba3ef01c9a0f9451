"""What a package's answers depend on besides its row: the settings, and one instant per
request (app.links carries it to every rendering of a package)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.insights.maintenance import MaintenanceThresholds
from app.insights.versions import DEFAULT_PYTHON_VERSIONS

if TYPE_CHECKING:
    from app.config import Settings  # app.config reads app.insights.versions


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Insight:
    """What the answers depend on besides the row: the settings, and one instant per
    request, so every package of a response is judged at the same moment."""

    python_versions: tuple[str, ...] = DEFAULT_PYTHON_VERSIONS
    thresholds: MaintenanceThresholds = field(default_factory=MaintenanceThresholds)
    now: dt.datetime = field(default_factory=_utcnow)

    @classmethod
    def of(cls, settings: Settings) -> Insight:
        thresholds = MaintenanceThresholds(
            active_months=settings.maintenance_active_months,
            stale_months=settings.maintenance_stale_months,
        )
        return cls(tuple(settings.python_versions), thresholds)
