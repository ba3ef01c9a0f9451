"""POST /api/v4/lookup/: which of these packages does the directory know, and do they
support my Django and Python? Read-only and anonymous; the write rate limits count it
(app.ratelimit: every POST), and its body is bounded (MAX_BODY_BYTES, the sizes below).
The rules: app.services.lookup, app.insights."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.conditional import json_response
from app.deps import LinksDep, SessionDep, SettingsDep
from app.errors import error_responses
from app.hosts import host_of
from app.schemas.package import PackageOut
from app.services.lookup import answer, parse_lookup, wanted_version

router = APIRouter(prefix="/lookup", tags=["lookup"])

# A requirements.txt of 1000 requirements with hashes is well under this.
MAX_REQUIREMENTS_CHARS = 500_000
MAX_ITEM_CHARS = 2000
# What app.insights.versions.parse_minor reads: major.minor, spaces around allowed.
_VERSION = r"^\s*[0-9]{1,4}\.[0-9]{1,4}\s*$"


class LookupIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # One of the two, as the service checks (a null counts as not sent).
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["items"],
                    "properties": {"items": {"type": "array"}, "requirements": {"type": "null"}},
                },
                {
                    "required": ["requirements"],
                    "properties": {"requirements": {"type": "string"}, "items": {"type": "null"}},
                },
            ]
        },
    )

    items: list[Annotated[str, Field(max_length=MAX_ITEM_CHARS, pattern=r"\S")]] | None = Field(
        default=None,
        max_length=1000,  # the parser names the 101st item; a far longer list is refused here
        description="Up to 100 PyPI names, repository URLs or PURLs. An item that is none "
        "of these is answered in its place (`package` null, `compatible` unknown, a reason "
        "saying why); a blank item is a 422.",
        # What the service accepts (the 101st is a 422 naming it).
        json_schema_extra={"maxItems": 100},
        examples=[["django-shop", "https://github.com/jazzband/django-debug-toolbar"]],
    )
    requirements: str | None = Field(
        default=None,
        max_length=MAX_REQUIREMENTS_CHARS,
        description="A requirements.txt (up to 1000 requirements); instead of `items`.",
    )
    django: str | None = Field(
        default=None, max_length=20, examples=["5.2"], json_schema_extra={"pattern": _VERSION}
    )
    python: str | None = Field(
        default=None, max_length=20, examples=["3.13"], json_schema_extra={"pattern": _VERSION}
    )


class SkippedOut(BaseModel):
    line: int
    text: str
    reason: str


class LookupResult(BaseModel):
    query: str
    name: str = Field(
        description="The PEP 503 name, or the normalized repository URL; empty for an item "
        "that names no package."
    )
    package: PackageOut | None
    compatible: Literal["yes", "no", "unknown"]
    reasons: list[str]


class LookupOut(BaseModel):
    results: list[LookupResult]
    skipped: list[SkippedOut]


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
    """One result per item or requirement, in input order; see docs/compatibility.md. An
    item that is not a PyPI name, repository URL or PURL gets a result too: `package`
    null, `compatible` "unknown", and a reason naming why it was not understood. 422 is
    for a body that cannot be answered: wrong types, both or neither of `items` and
    `requirements`, a blank item, more than 100 items, a requirements line pip would
    refuse."""
    django = wanted_version(body.django, "django")
    python = wanted_version(body.python, "python")
    asked = parse_lookup(
        body.items,
        body.requirements,
        forge_hosts=settings.forge_hosts,
        pypi_hosts=frozenset({host_of(settings.pypi_url)}),
    )
    answered = await answer(
        session, asked, links, django=django, python=python, forge_hosts=settings.forge_hosts
    )
    return json_response(request, answered)
