"""Badges: shields-style SVG (svg), their text widths measured from a real font (widths),
and the kinds a package has (kinds). Pure: no database, no HTTP."""

from app.badges.kinds import (
    KINDS,
    BadgeFacts,
    activity_badge,
    badge_for,
    compact_number,
    django_badge,
    python_badge,
    stars_badge,
    status_badge,
    version_badge,
)
from app.badges.svg import (
    BADGE_CACHE_CONTROL,
    BADGE_MEDIA_TYPE,
    Badge,
    render,
    render_badge,
)

__all__ = [
    "BADGE_CACHE_CONTROL",
    "BADGE_MEDIA_TYPE",
    "KINDS",
    "Badge",
    "BadgeFacts",
    "activity_badge",
    "badge_for",
    "compact_number",
    "django_badge",
    "python_badge",
    "render",
    "render_badge",
    "stars_badge",
    "status_badge",
    "version_badge",
]
