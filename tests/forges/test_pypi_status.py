"""PEP 792's project status, read from PyPI's Simple API (its only source) by the PyPI
client, against the fake PyPI served over loopback; the markers drawn from PEP 792's
domain (status absent, active, archived, deprecated, quarantined; reason absent, empty,
long, any Unicode)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from app.forges.base import Outcome
from app.forges.pypi import _SIMPLE, project_status
from tests.fakes import Fault
from tests.fakes.pypi import FakePyPI, PypiProject
from tests.forges.test_pypi import World, pypi  # noqa: F401  (the fixture)

STATUSES = ("active", "archived", "deprecated", "quarantined")
reasons = st.one_of(
    st.none(),
    st.just(""),
    st.text(),  # any Unicode PyPI can serve in JSON
    st.text(min_size=1, max_size=5).map(lambda part: part * 1000),  # long, past 2,000
)


def project(
    status: str | None = None, reason: str | None = None, api_version: str = "1.4"
) -> PypiProject:
    return PypiProject(
        "Django-Shop",
        releases={"1.0": [False]},
        status=status,
        status_reason=reason,
        simple_api_version=api_version,
    )


@given(status=st.one_of(st.none(), st.sampled_from(STATUSES)), reason=reasons)
def test_any_marker_pypi_serves_is_read_as_stored(status: str | None, reason: str | None) -> None:
    payload = FakePyPI().simple_payload(project(status, reason))
    simple = _SIMPLE.validate_json(json.dumps(payload))

    if status is None:  # no project-status key: active (PEP 792's default), no reason
        assert project_status(simple) == ("active", "")
    else:
        assert project_status(simple) == (status, (reason or "")[:2000])


@given(version=st.sampled_from(["1.0", "1.1", "1.3"]), status=st.sampled_from(STATUSES))
def test_an_index_older_than_api_version_1_4_says_nothing(version: str, status: str) -> None:
    payload = FakePyPI().simple_payload(project(status, api_version=version))
    assert project_status(_SIMPLE.validate_json(json.dumps(payload))) is None


async def test_the_refresh_reads_the_status_beside_the_json(pypi: World) -> None:  # noqa: F811
    pypi.fake.add(project("archived", "Moved to django-shop2."))

    result = await pypi.fetch("django_shop")

    assert result.figures.version == "1.0"
    assert (result.figures.status, result.figures.status_reason) == (
        "archived",
        "Moved to django-shop2.",
    )
    asked = [seen for seen in pypi.served.recorder.seen if "/simple/" in seen.path]
    assert asked[-1].path == "/simple/django-shop/"  # PEP 503's name: no redirect
    assert asked[-1].headers["accept"] == "application/vnd.pypi.simple.v1+json"


async def test_a_project_without_a_marker_is_active(pypi: World) -> None:  # noqa: F811
    pypi.fake.add(project())

    result = await pypi.fetch("Django-Shop")

    assert (result.figures.status, result.figures.status_reason) == ("active", "")


async def test_a_json_304_still_asks_for_the_status_by_its_own_etag(pypi: World) -> None:  # noqa: F811
    pypi.fake.add(project())
    first = await pypi.fetch("Django-Shop")
    unchanged = await pypi.fetch("Django-Shop", first.etag)
    pypi.fake.projects["django-shop"].status = "deprecated"

    changed = await pypi.fetch("Django-Shop", first.etag)

    assert (unchanged.figures.version, unchanged.figures.status) == (None, None)  # two 304s
    assert unchanged.etag == first.etag
    assert changed.figures.version is None  # the JSON was not modified
    assert changed.figures.status == "deprecated" and changed.etag != first.etag
    simple = [seen for seen in pypi.served.recorder.seen if "/simple/" in seen.path]
    assert [("if-none-match" in seen.headers) for seen in simple] == [False, True, True]


async def test_a_failing_simple_api_keeps_the_stored_status(pypi: World) -> None:  # noqa: F811
    pypi.fake.add(project("deprecated"))
    pypi.fake.faults.add("/simple/", Fault(503), times=10)

    first = await pypi.fetch("Django-Shop")
    pypi.fake.faults.add("/simple/", Fault(503), times=10)
    result = await pypi.fetch("Django-Shop", first.etag)

    assert first.outcome.value == "ok" and first.figures.version == "1.0"
    assert (first.figures.status, first.figures.status_reason) == (None, None)
    # The Simple API's ETag is not forgotten either (nothing new was had).
    assert result.etag == first.etag


async def test_a_simple_api_answering_html_or_garbage_says_nothing(pypi: World) -> None:  # noqa: F811
    pypi.fake.add(project("deprecated"))
    pypi.fake.faults.add("/simple/", Fault(200, body={"meta": {"api-version": 1.4}}))
    pypi.fake.faults.add(
        "/simple/", Fault(200, headers={"content-type": "text/html"}, body=b"<html></html>")
    )

    for _ in range(2):
        assert (await pypi.fetch("Django-Shop")).figures.status is None
    assert (await pypi.fetch("Django-Shop")).figures.status == "deprecated"


async def test_a_quarantined_project_is_not_found_but_says_why(pypi: World) -> None:  # noqa: F811
    pypi.fake.add(project("quarantined", "Malware reported."))

    result = await pypi.fetch("Django-Shop")

    assert result.outcome is Outcome.NOT_FOUND  # PyPI's JSON API hides it
    assert (result.figures.status, result.figures.status_reason) == (
        "quarantined",
        "Malware reported.",
    )
    simple = FakePyPI().simple_payload(project("quarantined"))
    assert simple["files"] == []


async def test_an_unknown_project_is_not_found_and_says_nothing(pypi: World) -> None:  # noqa: F811
    result = await pypi.fetch("no-such-project")

    assert result.outcome is Outcome.NOT_FOUND and result.figures.status is None
    asked = [seen.path for seen in pypi.served.recorder.seen]
    assert asked == ["/pypi/no-such-project/json", "/simple/no-such-project/"]  # 404 both
