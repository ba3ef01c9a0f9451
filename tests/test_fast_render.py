"""The read mappers' dicts render to the very bytes the schema models render to.

GET package list and detail skip building PackageOut (app.schemas.package.package_fields,
app.conditional.render); their bytes, and so their ETags, must stay those of the model, or
an If-Match taken from a GET would never match on a write, which renders the model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.conditional import render
from app.links import Links
from app.models import GridPackage, Package
from app.schemas.package import PackageOut, package_fields

UTC = dt.UTC
TEXTS = [
    "",
    "plain",
    'quote " backslash \\ slash /',
    "control \x00 \x01 \x08 \t \n \x0c \r \x1f \x7f",
    "unicode é ß 漢字 \u2028 \u2029 emoji 🐍",
    "<script>&amp;</script>",
]
INSTANTS = [
    None,
    dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    dt.datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
    dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def _package(text: str, instant: dt.datetime | None, number: int) -> Package:
    package = Package(
        id=number,
        title=text,
        slug=f"slug-{number}",
        category_id=3,
        repo_url=None if number % 2 else f"https://github.com/o/{text}",
        repo_host="github",
        repo_forks=number,
        repo_watchers=2**40 + number,
        repo_description=text,
        pypi_url=text,
        documentation_url="",
        pypi_version=None if number % 3 else "1.0",
        commits_over_52=list(range(52)),
        participants=[text, "b"],
        score=-number,
        pypi_license=text or None,
        pypi_requires_python=None,
        pypi_classifiers=[text],
        supports_python3=[None, True, False][number % 3],
        created=instant or dt.datetime(2020, 1, 1, tzinfo=UTC),
        modified=dt.datetime(2021, 6, 1, 12, 0, 0, 1, tzinfo=UTC),
        last_updated=instant,
        last_fetched=instant,
        date_deprecated=instant,
        date_repo_archived=instant,
        deprecated_by_id=None if number % 2 else 7,
    )
    package.memberships = [
        GridPackage(grid_id=grid_id, package_id=number) for grid_id in (9, 2, number)
    ]
    return package


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("instant", INSTANTS)
def test_package_dict_renders_as_the_model(text: str, instant: dt.datetime | None) -> None:
    links = Links("http://testserver")
    for number in (1, 2, 3):
        package = _package(text, instant, number)
        fields: dict[str, Any] = package_fields(package, links, package.grid_ids)
        assert list(fields) == list(PackageOut.model_fields)
        assert render(fields) == render(PackageOut.of(package, links))
