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
    # The first instant after `now` at which an answer judged at `now` reads otherwise (a
    # status, a score's quarters: whole months since a date), or empty: never. The read
    # cache keeps the answer until then (app.cache.middleware).
    horizon: list[dt.datetime] = field(default_factory=list, compare=False)

    def valid_until(self, moment: dt.datetime | None) -> None:
        """An answer rendered with this insight reads otherwise from `moment` on."""
        if moment is not None and (not self.horizon or moment < self.horizon[0]):
            self.horizon[:] = [moment]

    @classmethod
    def of(cls, settings: Settings) -> Insight:
        thresholds = MaintenanceThresholds(
            active_months=settings.maintenance_active_months,
            stale_months=settings.maintenance_stale_months,
        )
        return cls(tuple(settings.python_versions), thresholds)
