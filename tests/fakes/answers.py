"""Answers the GitLab, Forgejo, Bitbucket and PyPI fakes share: JSON with an ETag (and 304
when it matches If-None-Match), page slices, Link headers, and the commits they list."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit on a fake repository's default branch."""

    when: dt.datetime  # committer date, any UTC offset
    login: str | None = None  # the account it is linked to (Forgejo login, Bitbucket nickname)
    name: str = "A. Developer"
    email: str = "dev@example.org"

    @property
    def sha(self) -> str:
        seed = f"{self.when.isoformat()} {self.login} {self.name}".encode()
        return hashlib.sha1(seed, usedforsecurity=False).hexdigest()


def newest_first(commits: list[Commit]) -> list[Commit]:
    return sorted(commits, key=lambda commit: commit.when, reverse=True)


def etag_of(payload: Any, *, weak: bool = True) -> str:
    digest = hashlib.md5(json.dumps(payload).encode(), usedforsecurity=False).hexdigest()
    return f'W/"{digest}"' if weak else f'"{digest}"'


def json_answer(
    request: Request,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    etag: bool = True,
    weak: bool = True,
) -> Response:
    """200 with the payload and its ETag, or 304 when the client already has it."""
    all_headers = dict(headers or {})
    if etag:
        tag = etag_of(payload, weak=weak)
        all_headers["etag"] = tag
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=all_headers)
    body = json.dumps(payload).encode()
    return Response(body, 200, headers=all_headers, media_type="application/json")


def error_answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload).encode(), status, headers=headers, media_type="application/json"
    )


def page_params(request: Request, size_name: str, default: int, largest: int) -> tuple[int, int]:
    """(page, size) from the query, as forges read them: bad values fall back, sizes cap."""
    try:
        page = max(int(request.query_params.get("page", 1)), 1)
    except ValueError:
        page = 1
    try:
        size = int(request.query_params.get(size_name, default))
    except ValueError:
        size = default
    return page, min(max(size, 1), largest)


def link_header(request: Request, page: int, last: int) -> str:
    """RFC 8288 links to the first, previous, next and last pages of this listing."""

    # From the raw path, as real servers echo it: an encoded %2F stays encoded.
    raw_path = request.scope.get("raw_path", request.url.path.encode()).decode().split("?")[0]
    here = request.url

    def at(number: int) -> str:
        query = here.include_query_params(page=number).query
        return f"{request.base_url}{raw_path.lstrip('/')}?{query}"

    links = [f'<{at(1)}>; rel="first"']
    if page > 1:
        links.append(f'<{at(page - 1)}>; rel="prev"')
    if page < last:
        links.append(f'<{at(page + 1)}>; rel="next"')
    links.append(f'<{at(last)}>; rel="last"')
    return ", ".join(links)


def iso(when: dt.datetime, *, millis: bool = False) -> str:
    return when.isoformat(timespec="milliseconds" if millis else "seconds")
