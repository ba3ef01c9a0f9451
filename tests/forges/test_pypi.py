"""The PyPI client against a fake PyPI JSON API served over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from app.config import Settings
from app.forges.base import Outcome, PypiResult, Usage
from app.forges.pypi import PyPIClient
from app.forges.registry import open_forges
from tests.fakes import Fault
from tests.fakes.pypi import FakePyPI, PypiProject
from tests.forges.serving import Served, served

MIT_TEXT = "Permission is hereby granted, free of charge, to any person obtaining a copy\n" * 20


@dataclass
class World:
    fake: FakePyPI
    served: Served

    @property
    def client(self) -> PyPIClient:
        return PyPIClient(self.served.upstream, url=self.served.base)

    async def fetch(self, name: str, etag: str | None = None) -> PypiResult:
        return await self.client.fetch(name, etag, Usage())


@pytest_asyncio.fixture
async def pypi() -> AsyncIterator[World]:
    fake = FakePyPI()
    async with served(fake.app, "pypi") as serving:
        yield World(fake, serving)


def django() -> PypiProject:
    return PypiProject(
        "Django",
        releases={
            "5.0": [False, False],
            "5.1": [False, True],  # one file yanked, the other installable
            "5.1.1": [True, True],  # yanked: not the latest
            "5.2a1": [False],  # a pre-release is never latest while finals exist
            "5.1.2": [],  # no files: nothing to install
        },
        license="BSD-3-Clause",
        license_expression=None,
        requires_python=">=3.10",
        classifiers=[
            "Framework :: Django",
            "License :: OSI Approved :: BSD License",
            "Programming Language :: Python :: 3 :: Only",
        ],
        project_urls={
            "Homepage": "https://www.djangoproject.com/",
            "Documentation": "https://docs.djangoproject.com/",
        },
    )


async def test_a_project_maps_to_our_fields(pypi: World) -> None:
    pypi.fake.add(django())
    usage = Usage()

    result = await pypi.client.fetch("Django", None, usage)

    assert result.outcome is Outcome.OK, result.error
    figures = result.figures
    assert figures.version == "5.1"
    assert figures.license == "BSD-3-Clause"
    assert figures.requires_python == ">=3.10"
    assert figures.classifiers == django().classifiers
    assert figures.supports_python3 is True
    assert figures.documentation_url == "https://docs.djangoproject.com/"
    assert result.etag and result.etag.startswith('"')
    assert usage.requests["pypi"] == 2  # the JSON API, and the Simple API for PEP 792's status


async def test_the_registry_points_the_client_at_pypi_url(pypi: World) -> None:
    pypi.fake.add(django())
    settings = Settings(pypi_url=pypi.served.base, upstream_retry_attempts=1)

    async with open_forges(settings) as forges:
        assert forges.pypi is not None
        result = await forges.pypi.fetch("Django", None, Usage())

    assert result.outcome is Outcome.OK and result.figures.version == "5.1"
    assert pypi.served.recorder.seen[0].headers["user-agent"] == settings.upstream_user_agent


async def test_a_name_not_spelled_as_registered_follows_the_301(pypi: World) -> None:
    pypi.fake.add(PypiProject("django-shop", releases={"1.2.4": [False]}))
    usage = Usage()

    result = await pypi.client.fetch("Django_Shop", None, usage)

    assert result.outcome is Outcome.OK and result.figures.version == "1.2.4"
    assert result.name == "Django_Shop"  # the name we were asked for
    assert pypi.served.paths() == [
        "/pypi/Django_Shop/json",
        "/pypi/django-shop/json",
        "/simple/django-shop/",  # PEP 792's status, asked by the PEP 503 name
    ]
    assert usage.requests["pypi"] == 3


async def test_unknown_and_impossible_names_are_not_found(pypi: World) -> None:
    pypi.fake.add(PypiProject("no-releases"))

    unknown = await pypi.fetch("no-such-package")
    empty = await pypi.fetch("no-releases")
    impossible = await pypi.fetch("../admin")

    assert unknown.outcome is Outcome.NOT_FOUND and "404" in unknown.error
    assert empty.outcome is Outcome.NOT_FOUND
    assert impossible.outcome is Outcome.NOT_FOUND and "not a name" in impossible.error
    # After a JSON 404 the Simple API is asked for a PEP 792 status (a quarantined project).
    assert pypi.served.paths() == [
        "/pypi/no-such-package/json",
        "/simple/no-such-package/",
        "/pypi/no-releases/json",
        "/simple/no-releases/",
    ]


async def test_an_unchanged_project_answers_304(pypi: World) -> None:
    project = pypi.fake.add(django())
    first = await pypi.fetch("Django")
    usage = Usage()

    again = await pypi.client.fetch("Django", first.etag, usage)

    assert again.outcome is Outcome.OK and again.etag == first.etag
    assert again.figures.version is None and again.figures.classifiers is None  # unchanged
    assert usage.not_modified["pypi"] == 2  # the JSON API and the Simple API

    project.releases["5.2"] = [False]
    changed = await pypi.fetch("Django", first.etag)
    assert changed.figures.version == "5.2" and changed.etag != first.etag


async def test_server_errors_are_retried_then_give_up(pypi: World) -> None:
    pypi.fake.add(django())
    pypi.fake.faults.add("/pypi/Django/json", Fault(503), times=2)
    recovered = await pypi.fetch("Django")
    pypi.fake.faults.add("/pypi/Django/json", Fault(502), times=3)
    exhausted = await pypi.fetch("Django")

    assert recovered.outcome is Outcome.OK and recovered.figures.version == "5.1"
    assert exhausted.outcome is Outcome.FAILED and "502" in exhausted.error
    assert exhausted.figures.version is None and exhausted.etag is None


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"<html>Service Unavailable</html>", "Invalid JSON"),
        ({"info": {"classifiers": "Framework :: Django"}}, "classifiers"),
        ({"info": {}, "releases": {"1.0": [{"yanked": "no"}]}}, "yanked"),
        ({"info": None, "releases": {}}, "info"),
    ],
)
async def test_garbage_fails_without_figures(pypi: World, body: object, complaint: str) -> None:
    pypi.fake.add(django())
    pypi.fake.faults.add("/pypi/Django/json", Fault(200, body=body))

    result = await pypi.fetch("Django")

    assert result.outcome is Outcome.FAILED and complaint in result.error
    assert result.figures.version is None and result.etag is None


@pytest.mark.parametrize(
    ("project", "license"),
    [
        # PEP 639's expression wins over everything else.
        (
            PypiProject("a", license_expression="MIT OR Apache-2.0", license="MIT"),
            "MIT OR Apache-2.0",
        ),
        (PypiProject("b", license="Apache 2.0"), "Apache 2.0"),
        # A whole license text is not a license name: the classifier says it better.
        (
            PypiProject(
                "c", license=MIT_TEXT, classifiers=["License :: OSI Approved :: MIT License"]
            ),
            "MIT License",
        ),
        (
            PypiProject(
                "d",
                license="UNKNOWN",
                classifiers=[
                    "License :: OSI Approved",
                    "License :: OSI Approved :: BSD License",
                    "License :: OSI Approved :: GNU General Public License v3 (GPLv3)",
                ],
            ),
            "BSD License OR GNU General Public License v3 (GPLv3)",
        ),
        (PypiProject("e", license=MIT_TEXT), None),
    ],
)
async def test_the_license_is_a_name(
    pypi: World, project: PypiProject, license: str | None
) -> None:
    project.releases = {"1.0": [False]}
    pypi.fake.add(project)

    result = await pypi.fetch(project.name)

    assert result.figures.license == license


@pytest.mark.parametrize(
    ("classifiers", "requires_python", "supported"),
    [
        (["Programming Language :: Python :: 3.12"], None, True),
        (["Programming Language :: Python :: 3"], None, True),
        (["Programming Language :: Python :: 2.7"], None, False),
        ([], ">=2.7, !=3.0.*, !=3.1.*", True),
        ([], "==3.8.5", True),
        ([], "<3", False),
        ([], ">=2.6,<3.0", False),
        ([], "not a specifier", False),
        ([], None, False),
    ],
)
async def test_python3_support_from_classifiers_or_requires_python(
    pypi: World, classifiers: list[str], requires_python: str | None, supported: bool
) -> None:
    pypi.fake.add(
        PypiProject(
            "p", releases={"1.0": [False]}, classifiers=classifiers, requires_python=requires_python
        )
    )

    result = await pypi.fetch("p")

    assert result.figures.supports_python3 is supported
    assert result.figures.requires_python == (requires_python or "")


@pytest.mark.parametrize(
    ("project_urls", "docs_url", "expected"),
    [
        ({"Docs": "https://p.readthedocs.io/"}, None, "https://p.readthedocs.io/"),
        ({" documentation ": "https://docs.example/p"}, None, "https://docs.example/p"),
        ({"DOCUMENTATION": "https://docs.example/P"}, None, "https://docs.example/P"),
        (
            {"Source": "https://git.example/p"},
            "https://pythonhosted.org/p/",
            "https://pythonhosted.org/p/",
        ),
        ({"Documentation": "javascript:alert(1)"}, None, None),
        (None, None, None),
    ],
)
async def test_the_documentation_url_comes_from_the_project_urls(
    pypi: World, project_urls: dict[str, str] | None, docs_url: str | None, expected: str | None
) -> None:
    pypi.fake.add(
        PypiProject("p", releases={"1.0": [False]}, project_urls=project_urls, docs_url=docs_url)
    )

    result = await pypi.fetch("p")

    assert result.figures.documentation_url == expected


@pytest.mark.parametrize(
    ("releases", "latest"),
    [
        ({"1.0": [False], "2.0rc1": [False]}, "1.0"),
        ({"2.0b1": [False], "2.0rc1": [False]}, "2.0rc1"),  # only pre-releases: the newest
        ({"1.0": [False], "1.0.post1": [False]}, "1.0.post1"),
        ({"1.9": [False], "1.10": [False]}, "1.10"),  # PEP 440 order, not text order
        ({"1.0": [False], "2.0": [True]}, "1.0"),
        ({"1.0": [False], "not-a-version!": [False]}, "1.0"),
        ({"1.0": [True]}, None),  # everything yanked: nothing to call latest
    ],
)
async def test_the_latest_release_is_the_newest_installable_one(
    pypi: World, releases: dict[str, list[bool]], latest: str | None
) -> None:
    pypi.fake.add(PypiProject("p", releases=releases, version=next(iter(releases))))

    result = await pypi.fetch("p")

    assert result.outcome is Outcome.OK and result.figures.version == latest


@pytest.mark.parametrize(
    ("releases", "uploaded", "last"),
    [
        # The newest upload, whichever release it belongs to (a wheel added to 1.0 later).
        (
            {"1.0": [False], "2.0": [False]},
            {"1.0": "2025-03-01T12:00:00", "2.0": "2024-01-02T03:04:05"},
            "2025-03-01T12:00:00+00:00",
        ),
        # A yanked file's upload does not count.
        (
            {"1.0": [False], "2.0": [True]},
            {"1.0": "2023-05-06T07:08:09", "2.0": "2025-01-01T00:00:00"},
            "2023-05-06T07:08:09+00:00",
        ),
        ({"1.0": [True]}, {"1.0": "2025-01-01T00:00:00"}, None),  # nothing installable
    ],
)
async def test_the_last_release_is_the_newest_upload_not_yanked(
    pypi: World, releases: dict[str, list[bool]], uploaded: dict[str, str], last: str | None
) -> None:
    pypi.fake.add(PypiProject("p", releases=releases, uploaded=uploaded))

    result = await pypi.fetch("p")

    assert result.outcome is Outcome.OK, result.error
    got = result.figures.last_release
    assert (got.isoformat() if got else None) == last
