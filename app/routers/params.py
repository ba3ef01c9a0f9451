"""Path parameters several routers declare."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Path

# No length limit: a long key is simply not found (404), as in the original.
Key = Annotated[str, Path(description="A numeric id or a slug.")]


def choices(*values: str) -> dict[str, Any]:
    """A filter's documented values; blank (no filter) included."""
    return {"enum": ["", *values]}


def ordering_pattern(fields: Iterable[str]) -> dict[str, Any]:
    """`?ordering=` as the repositories read it (app.repositories.base.ordering_clauses):
    comma-separated names among `fields`, each optionally `-`, spaces around them allowed."""
    name = f" *(?:-?(?:{'|'.join(sorted(fields))}) *)?"
    return {"pattern": f"^{name}(?:,{name})*$"}
