"""POST /api/v4/lookup/: which of these packages does the directory know, and do they
support my Django and Python? Read-only and anonymous; the write rate limits count it
(app.ratelimit: every POST), and its body is bounded (MAX_BODY_BYTES, the sizes below)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.conditional import json_response
from app.db import without_write_intent
from app.deps import LinksDep, SessionDep, SettingsDep
from app.errors import AppError, FieldError, InvalidBody, error_responses
from app.hosts import host_of
from app.insights.lookup import LookupInput, LookupInputError, parse_items, parse_requirements_input
from app.insights.requirements import RequirementsError
from app.insights.verdict import PackageFacts, compatibility
from app.insights.versions import minor_version
from app.repositories.lookup import packages_by_pypi_name, packages_by_repo
from app.schemas.package import PackageOut, package_fields

router = APIRouter(prefix="/lookup", tags=["lookup"])

# A requirements.txt of 1000 requirements with hashes is well under this.
MAX_REQUIREMENTS_CHARS = 500_000
MAX_ITEM_CHARS = 2000


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Annotated[str, Field(max_length=MAX_ITEM_CHARS)]] | None = Field(
        default=None,
        max_length=1000,  # the parser names the 101st item; a far longer list is refused here
        description="Up to 100 PyPI names, repository URLs or PURLs.",
        examples=[["django-shop", "https://github.com/jazzband/django-debug-toolbar"]],
    )
    requirements: str | None = Field(
        default=None,
        max_length=MAX_REQUIREMENTS_CHARS,
        description="A requirements.txt (up to 1000 requirements); instead of `items`.",
    )
    django: str | None = Field(default=None, max_length=20, examples=["5.2"])
    python: str | None = Field(default=None, max_length=20, examples=["3.13"])


class SkippedOut(BaseModel):
    line: int
    text: str
    reason: str


class LookupResult(BaseModel):
    query: str
    name: str = Field(description="The PEP 503 name, or the normalized repository URL.")
    package: PackageOut | None
    compatible: Literal["yes", "no", "unknown"]
    reasons: list[str]


class LookupOut(BaseModel):
    results: list[LookupResult]
    skipped: list[SkippedOut]


class InvalidLookup(AppError):
    status_code = 422
    code = "validation_error"


@router.post(
    "/",
    response_model=LookupOut,
    responses=error_responses(400, 422, 429, 503),
    summary="Look packages up, and check them against a Django and Python version",
)
async def lookup(
    request: Request,
    body: LookupIn,
    session: SessionDep,
    links: LinksDep,
    settings: SettingsDep,
) -> Response:
    """One result per item or requirement, in input order; see docs/compatibility.md."""
    django = _version(body.django, "django")
    python = _version(body.python, "python")
    asked = _parse(body, settings.forge_hosts, frozenset({host_of(settings.pypi_url)}))
    names = {q.name for q in asked.queries if q.kind == "pypi"}
    repos = {q.name for q in asked.queries if q.kind == "repo"}
    with without_write_intent():  # a POST that only reads: no SQLite write turn
        by_name = await packages_by_pypi_name(session, names)
        by_repo = await packages_by_repo(session, repos, settings.forge_hosts)
    results = []
    for query in asked.queries:
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
    return json_response(request, {"results": results, "skipped": skipped})


def _version(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    try:
        return minor_version(text)
    except ValueError as error:
        raise InvalidBody(field, str(error)) from None


def _parse(body: LookupIn, forge_hosts: dict[str, str], pypi_hosts: frozenset[str]) -> LookupInput:
    if (body.items is None) == (body.requirements is None):
        raise InvalidBody("items", 'send either "items" or "requirements", not both nor neither')
    try:
        if body.items is not None:
            return parse_items(body.items, forge_hosts=forge_hosts, pypi_hosts=pypi_hosts)
        return parse_requirements_input(body.requirements or "")
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
