"""PEP 792's project status end to end: the refresher reads it from the fake PyPI's Simple
API, stores it, the package's maintenance says it, `?status=` finds the package by it,
and a Simple API that fails afterwards never erases it."""

from __future__ import annotations

import uuid

import httpx

from app.main import create_app
from app.services.tokens import TokenService
from tests.fakes import Fault
from tests.refresh.doubles import Db
from tests.refresh.test_end_to_end import Upstreams, upstreams  # noqa: F401  (the fixture)

LIST = "/api/v4/packages/"


async def refresh_and_read(db: Db, upstreams: Upstreams, slug: str) -> dict[str, object]:  # noqa: F811
    """POST the package's refresh, wait for it, and read what the API then serves."""
    async with db.sessionmaker() as session:
        _, plain = await TokenService(session).create(f"ci-{uuid.uuid4().hex}", "write")
        await session.commit()
    app = create_app(upstreams.settings(db))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            posted = await client.post(
                f"{LIST}{slug}/refresh/", headers={"Authorization": f"Bearer {plain}"}
            )
            assert posted.status_code == 202, posted.text
            await app.state.refresh_service.drain()
            detail = (await client.get(f"{LIST}{slug}/")).json()
            listed = {}
            for status in ("deprecated", "active"):
                page = (await client.get(f"{LIST}?status={status}")).json()
                listed[status] = [package["slug"] for package in page["results"]]
    return {"detail": detail, "listed": listed}


async def test_a_deprecation_on_pypi_is_stored_served_filtered_and_kept_through_failures(
    db: Db,
    upstreams: Upstreams,  # noqa: F811
) -> None:
    await db.add("pypi-only", pypi="django-shop")
    project = upstreams.pypi.projects["django-shop"]
    project.status, project.status_reason = "deprecated", "Use django-shop2 instead."

    first = await refresh_and_read(db, upstreams, "pypi-only")

    maintenance = first["detail"]["maintenance"]  # type: ignore[index]
    assert maintenance["status"] == "deprecated"
    assert "marked deprecated on PyPI: Use django-shop2 instead." in maintenance["reasons"]
    assert first["listed"] == {"deprecated": ["pypi-only"], "active": []}
    stored = await db.get("pypi-only")
    assert (stored.pypi_status, stored.pypi_status_reason, stored.standing) == (
        "deprecated",
        "Use django-shop2 instead.",
        "deprecated",
    )

    # PyPI's Simple API fails from now on, while a new release comes out.
    upstreams.pypi.faults.add("/simple/", Fault(503), times=100)
    project.releases["4.0"] = [False]
    failing = await refresh_and_read(db, upstreams, "pypi-only")

    assert failing["detail"]["pypi_version"] == "4.0"  # type: ignore[index]
    assert failing["detail"]["maintenance"]["status"] == "deprecated"  # type: ignore[index]
    assert failing["listed"] == {"deprecated": ["pypi-only"], "active": []}

    # Back, with the marker lifted: active again (the release is recent), and listed so.
    upstreams.pypi.faults = type(upstreams.pypi.faults)()
    project.status = None
    lifted = await refresh_and_read(db, upstreams, "pypi-only")

    assert lifted["detail"]["maintenance"]["status"] == "active"  # type: ignore[index]
    assert lifted["listed"] == {"deprecated": [], "active": ["pypi-only"]}
    assert (await db.get("pypi-only")).pypi_status == "active"
