"""What the services share: a user's editable fields applied to an entity, the slug rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.models import Category, Grid, Package
from app.normalize import slugify


def pick_slug(given: str | None, title: str, max_length: int) -> str:
    """A user's slug, or one made from the title when left out (app/services/origin.py)."""
    return given or slugify(title, max_length)


def apply_fields(
    entity: Category | Grid | Package,
    values: dict[str, Any],
    fields: Iterable[str],
    *,
    slug_length: int,
    creating: bool,
) -> None:
    """Set the `fields` among `values` (a body's `changes()`), then the slug: the one sent,
    or on creation one made from the title."""
    for name in fields:
        if name in values:
            setattr(entity, name, values[name])
    if "slug" in values or creating:
        entity.slug = pick_slug(values.get("slug"), entity.title, slug_length)
