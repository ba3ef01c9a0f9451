"""`?django=`, `?python=` and `?status=` (issue 18), as the package list, a grid's packages
and search declare them: one dependency, read by app.repositories.filters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from app.deps import LinksDep
from app.insights.maintenance import STATUSES
from app.repositories.filters import VERSION_DIGITS, FactFilters, parse_fact_filters


def names_pattern(names: tuple[str, ...]) -> dict[str, Any]:
    """Comma-separated names among `names`, spaces around them allowed, blank ones skipped
    (as app.repositories.filters reads them)."""
    name = f" *(?:(?:{'|'.join(names)}) *)?"
    return {"pattern": f"^{name}(?:,{name})*$"}


_VERSION = {"pattern": f"^ *(?:{VERSION_DIGITS} *)?$"}


async def fact_filters(
    links: LinksDep,
    django: Annotated[
        str | None,
        Query(
            description="Only packages that declare support for this Django version "
            "(major.minor, e.g. `5.2`), as `django_versions` lists it.",
            json_schema_extra=_VERSION,
        ),
    ] = None,
    python: Annotated[
        str | None,
        Query(
            description="Only packages that support this Python version (major.minor, "
            "e.g. `3.13`), as `python_versions` lists it.",
            json_schema_extra=_VERSION,
        ),
    ] = None,
    status: Annotated[
        str | None,
        Query(
            description="Comma-separated maintenance statuses among "
            f"{', '.join(STATUSES)}: packages with any of them.",
            json_schema_extra=names_pattern(STATUSES),
        ),
    ] = None,
) -> FactFilters:
    # links.insight: the request's settings and instant, as the answers are rendered with.
    return parse_fact_filters(links.insight, django=django, python=python, status=status)


FactFiltersDep = Annotated[FactFilters, Depends(fact_filters)]
