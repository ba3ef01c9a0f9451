"""What the REST forge clients (GitLab, Forgejo, Bitbucket) and PyPI share.

A conditional GET that turns every status into either a response, "not modified" or a
`Refusal` (the outcome a repository's result will carry); pagination links kept on the
forge's own host; one repository per bounded task, so one bad repository, or a bug,
never costs the others their figures. The base GitLab, Forgejo and Bitbucket specialise
is in rest_forge.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpx

from app.forges.base import Outcome, RepoRequest, RepoResult, Usage
from app.forges.http import Upstream, UpstreamError
from app.forges.payload import PayloadError
from app.forges.weeks import Window

logger = logging.getLogger(__name__)

MAX_PARTICIPANTS = 500


class Refusal(Exception):
    """Why a repository (or package) gets no figures this time."""

    def __init__(
        self,
        outcome: Outcome,
        error: str,
        retry_after: float | None = None,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(error)
        self.outcome = outcome
        self.error = error
        self.retry_after = retry_after
        self.status = status  # the upstream's HTTP status, when it gave one


async def get(
    upstream: Upstream,
    url: str,
    *,
    usage: Usage,
    what: str,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    etag: str | None = None,
) -> httpx.Response | None:
    """A 2xx response, or None for 304 Not Modified (only possible when `etag` is given).

    404 and 410 raise a NOT_FOUND Refusal; anything else that is not 2xx, and an upstream
    that gave no answer at all, a FAILED one. Redirects are followed on the same host.
    """
    sent = dict(headers or {})
    if etag:
        sent["If-None-Match"] = etag
    try:
        # params=None, not {}: httpx replaces a URL's query (a page link's) with empty params.
        response = await upstream.request(
            "GET", url, usage=usage, headers=sent, params=params or None, follow_redirects=True
        )
    except UpstreamError as error:
        raise Refusal(Outcome.FAILED, f"{what}: {error}", error.retry_after) from None
    except httpx.HTTPError as error:  # not retried: a body that cannot be decoded, say
        raise Refusal(Outcome.FAILED, f"{what}: {type(error).__name__}: {error}") from None
    status = response.status_code
    if status == 304 and etag:
        return None
    if 200 <= status < 300:
        return response
    if status in {404, 410}:
        raise Refusal(Outcome.NOT_FOUND, f"{what}: HTTP {status} (gone or private)", status=status)
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        problem = f"{what}: redirected off the forge's host to {where}"
    elif status in {401, 403}:
        problem = f"{what}: HTTP {status} (check the token's access)"
    else:
        problem = f"{what}: unexpected HTTP {status}"
    raise Refusal(Outcome.FAILED, problem, status=status)


def etag_of(response: httpx.Response) -> str | None:
    return response.headers.get("etag") or None


def same_origin(url: str, base: httpx.URL) -> bool:
    target = base.join(url)
    return (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)


def next_link(response: httpx.Response) -> str | None:
    """The `Link: <...>; rel="next"` URL, refused if it leaves the forge's host."""
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    if not same_origin(link, response.url):
        raise Refusal(Outcome.FAILED, f"pagination link leaves {response.url.host}: {link}")
    return str(response.url.join(link))


def rank_logins(logins: Iterable[str | None], limit: int = MAX_PARTICIPANTS) -> list[str]:
    """Distinct logins, most commits first; ties keep the order first seen (newest)."""
    counts = Counter(login for login in logins if login)
    # Counter keeps insertion order, and sorted() is stable: ties stay newest-first.
    ranked = sorted(counts, key=lambda login: -counts[login])
    return ranked[:limit]


async def fetch_each(
    forge: str,
    repos: Sequence[RepoRequest],
    fetch_one: Callable[[RepoRequest], Awaitable[RepoResult]],
    concurrency: int,
) -> list[RepoResult]:
    """`fetch_one` for every repository, at most `concurrency` at once, results in order.

    Whatever goes wrong with one repository is that repository's result; nothing raises
    out of here but cancellation.
    """
    slots = asyncio.Semaphore(concurrency)

    async def guarded(request: RepoRequest) -> RepoResult:
        async with slots:
            try:
                return await fetch_one(request)
            except Refusal as refusal:
                return RepoResult(
                    request.key,
                    refusal.outcome,
                    error=refusal.error,
                    retry_after=refusal.retry_after,
                )
            except PayloadError as error:
                return RepoResult(request.key, Outcome.FAILED, error=str(error))
            except Exception as error:  # a bug must not cost the other repositories
                logger.exception("%s: fetching %s failed", forge, request.key.path)
                return RepoResult(
                    request.key,
                    Outcome.FAILED,
                    error=f"{forge}: internal error ({type(error).__name__})",
                )

    return list(await asyncio.gather(*(guarded(request) for request in repos)))


def windowed_etag(etag: str, window: Window) -> str:
    """An ETag of a commit listing, stored with the 52-week window it was counted in:
    the same commits counted a week later land in other buckets."""
    return f"{window.start.date().isoformat()} {etag}"


def etag_for_window(stored: str | None, window: Window) -> str | None:
    """The ETag to send for this window's commit listing, if the stored one is for it."""
    if not stored:
        return None
    week, _, etag = stored.partition(" ")
    return etag if week == window.start.date().isoformat() and etag else None
