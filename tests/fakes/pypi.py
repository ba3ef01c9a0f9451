"""A fake PyPI JSON API (`/pypi/{name}/json`) and Simple API (`/simple/{name}/`), as
Warehouse answers them.

Quirks kept: a name that is not the project's own spelling (`django`, `Django_Shop`)
finds the project by its PEP 503 normalized form and answers 301 to the project's own
name; a trailing slash answers 301 too; unknown projects, and projects without
releases, 404; strong ETags with 304 on If-None-Match; X-PyPI-Last-Serial; the legacy
`releases` map with a `yanked` flag and upload times on every file; `license_expression`
only where the metadata is PEP 639's. The Simple API: PEP 691's JSON form when the Accept
header asks for `application/vnd.pypi.simple.v1+json` (HTML otherwise), `meta.api-version`,
PEP 792's `project-status` only when the project has one (with `reason` only when set),
a non-normalized name answered 301 to the normalized one, 404 for unknown projects,
strong ETags with 304 on If-None-Match; a quarantined project's JSON is a 404 and its
Simple page lists no files, as PyPI does.
Other faults through `faults` (keyed by path, so the two APIs fail independently).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.answers import error_answer, etag_of, json_answer
from tests.fakes.world import Faults


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class PypiProject:
    name: str  # as registered, e.g. "Django"
    # Each release's files, as their yanked flags: [False, True] is two files, one yanked.
    releases: dict[str, list[bool]] = field(default_factory=dict)
    version: str | None = None  # info.version; the last release when None
    license: str | None = None
    license_expression: str | None = None  # absent from the payload when None
    requires_python: str | None = None
    classifiers: list[str] = field(default_factory=list)
    project_urls: dict[str, str] | None = None
    docs_url: str | None = None
    serial: int = 1000
    # When each release's files were uploaded ("2024-05-01T10:20:30"); 2026-01-01 if absent.
    uploaded: dict[str, str] = field(default_factory=dict)
    # PEP 792: None leaves `project-status` out (PyPI's answer for an active project whose
    # status was never set); `status_reason` None leaves `reason` out.
    status: str | None = None
    status_reason: str | None = None
    simple_api_version: str = "1.4"


SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


class FakePyPI:
    def __init__(self) -> None:
        self.projects: dict[str, PypiProject] = {}
        self.faults = Faults()
        self.app = Starlette(
            routes=[
                Route("/pypi/{name}/json", self.project, methods=["GET"]),
                Route("/pypi/{name}/json/", self.slash, methods=["GET"]),
                Route("/simple/{name}/", self.simple, methods=["GET"]),
            ]
        )

    def add(self, project: PypiProject) -> PypiProject:
        self.projects[normalize(project.name)] = project
        return project

    async def slash(self, request: Request) -> Response:
        return RedirectResponse(f"/pypi/{request.path_params['name']}/json", 301)

    async def project(self, request: Request) -> Response:
        fault = self.faults.take(request.url.path)
        if fault:
            return fault.response()
        asked = request.path_params["name"]
        project = self.projects.get(normalize(asked))
        # PyPI hides a quarantined project's files: its JSON API answers 404.
        if project is None or not project.releases or project.status == "quarantined":
            return error_answer(404, {"message": "Not Found"})
        if asked != project.name:
            return RedirectResponse(f"/pypi/{project.name}/json", 301)
        headers = {"x-pypi-last-serial": str(project.serial), "cache-control": "max-age=900"}
        return json_answer(request, self.payload(project), headers=headers, weak=False)

    async def simple(self, request: Request) -> Response:
        fault = self.faults.take(request.url.path)
        if fault:
            return fault.response()
        asked = request.path_params["name"]
        project = self.projects.get(normalize(asked))
        if project is None:
            return Response("Not Found", 404, media_type="text/html")
        if asked != normalize(project.name):
            return RedirectResponse(f"/simple/{normalize(project.name)}/", 301)
        if SIMPLE_JSON not in request.headers.get("accept", ""):
            return Response(f"<html><body>{project.name}</body></html>", media_type="text/html")
        payload = self.simple_payload(project)
        tag = etag_of(payload, weak=False)
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers={"etag": tag})
        body = json.dumps(payload).encode()
        return Response(body, 200, headers={"etag": tag}, media_type=SIMPLE_JSON)

    def simple_payload(self, project: PypiProject) -> dict[str, Any]:
        files = [
            _file(project.name, number, index, yanked, project.uploaded.get(number))
            for number, flags in project.releases.items()
            for index, yanked in enumerate(flags)
            if project.status != "quarantined"  # no file offered
        ]
        payload: dict[str, Any] = {
            "meta": {"api-version": project.simple_api_version, "_last-serial": project.serial},
            "name": normalize(project.name),
            "versions": list(project.releases),
            "files": [
                {
                    "filename": file["filename"],
                    "url": file["url"],
                    "hashes": {"sha256": "0" * 64},
                    "requires-python": None,
                    "size": file["size"],
                    "upload-time": file["upload_time_iso_8601"],
                    "yanked": file["yanked_reason"] if file["yanked"] else False,
                }
                for file in files
            ],
        }
        if project.status is not None:
            marker: dict[str, Any] = {"status": project.status}
            if project.status_reason is not None:
                marker["reason"] = project.status_reason
            payload["project-status"] = marker
        return payload

    def payload(self, project: PypiProject) -> dict[str, Any]:
        version = project.version or list(project.releases)[-1]
        info: dict[str, Any] = {
            "author": "A. Author",
            "author_email": "author@example.org",
            "bugtrack_url": None,
            "classifiers": project.classifiers,
            "description": "A long description.",
            "description_content_type": "text/markdown",
            "docs_url": project.docs_url,
            "download_url": "",
            "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
            "dynamic": None,
            "home_page": "",
            "keywords": "",
            "license": project.license,
            "license_files": None,
            "maintainer": "",
            "maintainer_email": "",
            "name": project.name,
            "package_url": f"https://pypi.example/project/{project.name}/",
            "platform": None,
            "project_url": f"https://pypi.example/project/{project.name}/",
            "project_urls": project.project_urls,
            "provides_extra": None,
            "release_url": f"https://pypi.example/project/{project.name}/{version}/",
            "requires_dist": None,
            "requires_python": project.requires_python,
            "summary": "A package",
            "version": version,
            "yanked": False,
            "yanked_reason": None,
        }
        if project.license_expression is not None:
            info["license_expression"] = project.license_expression
        releases = {
            number: [
                _file(project.name, number, index, yanked, project.uploaded.get(number))
                for index, yanked in enumerate(files)
            ]
            for number, files in project.releases.items()
        }
        return {
            "info": info,
            "last_serial": project.serial,
            "releases": releases,
            "urls": releases.get(version, []),
            "vulnerabilities": [],
        }


def _file(
    name: str, version: str, index: int, yanked: bool, uploaded: str | None
) -> dict[str, Any]:
    # As Warehouse writes them: upload_time naive (UTC, whole seconds), the ISO one with
    # microseconds and Z.
    when = (uploaded or "2026-01-01T00:00:00")[:19]
    filename = f"{normalize(name).replace('-', '_')}-{version}" + (
        "-py3-none-any.whl" if index == 0 else ".tar.gz"
    )
    return {
        "comment_text": "",
        "digests": {"md5": "0" * 32, "sha256": "0" * 64, "blake2b_256": "0" * 64},
        "downloads": -1,
        "filename": filename,
        "has_sig": False,
        "md5_digest": "0" * 32,
        "packagetype": "bdist_wheel" if index == 0 else "sdist",
        "python_version": "py3" if index == 0 else "source",
        "requires_python": None,
        "size": 12345,
        "upload_time": when,
        "upload_time_iso_8601": f"{when}.000000Z",
        "url": f"https://files.pypi.example/{filename}",
        "yanked": yanked,
        "yanked_reason": "broken" if yanked else None,
    }
