"""A lookup's answer (POST /api/v4/lookup/ and `packages-api check`): parse the items or
the requirements.txt, find the packages, and judge each against the Django and Python
asked about. Raises app.errors.AppError subclasses (422) naming each bad line, blank item,
or the item past the limit; an item that names no package is answered in its place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import without_write_intent
from app.errors import AppError, FieldError, InvalidBody
from app.insights.lookup import (
    LookupInput,
    LookupInputError,
    parse_items,
    parse_requirements_input,
)
from app.insights.requirements import RequirementsError
from app.insights.verdict import PackageFacts, Verdict, compatibility
from app.insights.versions import minor_version
from app.links import Links
from app.repositories.lookup import packages_by_pypi_name, packages_by_repo
from app.schemas.package import package_fields


class InvalidLookup(AppError, status=422, code="validation_error"):
    pass


def parse_lookup(
    items: Sequence[str] | None,
    requirements: str | None,
    *,
    forge_hosts: Mapping[str, str],
    pypi_hosts: frozenset[str],
) -> LookupInput:
    """The queries of exactly one of `items` and `requirements`."""
    if (items is None) == (requirements is None):
        raise InvalidBody("items", 'send either "items" or "requirements", not both nor neither')
    try:
        if items is not None:
            return parse_items(items, forge_hosts=forge_hosts, pypi_hosts=pypi_hosts)
        return parse_requirements_input(requirements or "")
    except LookupInputError as error:
        raise InvalidLookup(
            str(error),
            errors=[
                FieldError(location="body", field=f"items.{p.index}", message=p.message)
                for p in error.problems
            ],
        ) from None
    except RequirementsError as error:
        raise InvalidLookup(
            str(error),
            errors=[
                FieldError(
                    location="body",
                    field="requirements",
                    message=f"line {p.line}: {p.message} ({p.text[:200]!r})",
                )
                for p in error.problems
            ],
        ) from None


def wanted_version(text: str | None, field: str) -> str | None:
    """ "5.2" from what the client sent for `field`; None when it sent nothing."""
    if text is None:
        return None
    try:
        return minor_version(text)
    except ValueError as error:
        raise InvalidBody(field, str(error)) from None


async def answer(
    session: AsyncSession,
    asked: LookupInput,
    links: Links,
    *,
    django: str | None,
    python: str | None,
    forge_hosts: Mapping[str, str],
) -> dict[str, Any]:
    """`{"results": [...], "skipped": [...]}`, results in the queries' order."""
    names = {q.name for q in asked.queries if q.kind == "pypi"}
    repos = {q.name for q in asked.queries if q.kind == "repo"}
    with without_write_intent():  # a POST that only reads: no SQLite write turn
        by_name = await packages_by_pypi_name(session, names)
        by_repo = await packages_by_repo(session, repos, forge_hosts)
    results = []
    for query in asked.queries:
        found = None
        if query.kind == "unreadable":  # never looked up: its notes say why
            verdict = Verdict("unknown", query.notes)
        else:
            found = (by_name if query.kind == "pypi" else by_repo).get(query.name)
            facts = None
            if found is not None:
                row = found[0]
                facts = PackageFacts(
                    row.pypi_classifiers or [], row.pypi_requires_python, row.pypi_version
                )
            verdict = compatibility(
                facts,
                django=django,
                python=python,
                specifier=query.specifier,
                ref=query.ref,
                notes=query.notes,
            )
        results.append(
            {
                "query": query.query,
                "name": query.name,
                "package": package_fields(found[0], links, found[1]) if found else None,
                "compatible": verdict.compatible,
                "reasons": list(verdict.reasons),
            }
        )
    skipped = [{"line": s.line, "text": s.text, "reason": s.reason} for s in asked.skipped]
    return {"results": results, "skipped": skipped}
