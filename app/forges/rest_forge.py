"""The REST forge base: what GitLab, Forgejo and Bitbucket share, so that each client
says only what differs: its endpoints, payloads and their field names, the header its
token goes in, and its pagination style (a `PageReader`).

A client fetches each repository on its own (`_fetch`, one `Job`) from these pieces: a
resource asked for with its last ETag (`_resource`), a listing walked page by page
(`_list`), the default branch's commits of the 52 weeks and their weekly totals
(`_commits`), the newest commits of a quiet repository (`_newest`), the last commit's
date and the participants ranked from commit authors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypedDict, TypeVar

import httpx
from pydantic import AliasGenerator, ConfigDict, TypeAdapter

from app.forges.base import Outcome, RepoFigures, RepoRequest, RepoResult, Usage
from app.forges.http import Upstream
from app.forges.payload import Count, Description, Name, UpstreamModel, parse
from app.forges.rest import (
    Refusal,
    etag_for_window,
    etag_of,
    fetch_each,
    get,
    rank_logins,
    same_origin,
    windowed_etag,
)
from app.forges.weeks import WEEKS, Window, window

T = TypeVar("T")
Params = dict[str, str | int]


class Dated(Protocol):
    """A listed commit: its committer date (UTC)."""

    @property
    def when(self) -> dt.datetime: ...


class Authored(Dated, Protocol):
    """A listed commit and the forge account of its author (None: no account matches)."""

    @property
    def login(self) -> str | None: ...


C = TypeVar("C", bound=Dated)
A = TypeVar("A", bound=Authored)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None  # the next page's URL as the forge gave it (maybe relative); None: last


# A forge's pagination style: one response read into its items and the next page's URL.
PageReader = Callable[[httpx.Response, str], Awaitable[Page[T]]]


def array_pages(
    adapter: TypeAdapter[list[T]], next_page: Callable[[httpx.Response], str | None]
) -> PageReader[T]:
    """Pages whose body is a JSON array of items, the next page named by the headers."""

    async def read(response: httpx.Response, what: str) -> Page[T]:
        return Page(await parse(adapter, response, what), next_page(response))

    return read


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    items: list[T]  # every item read, in the forge's order
    complete: bool  # read to its end (or as far as it was wanted): counts from it are exact
    first_page: list[T]  # for commits, newest first: the newest ones


@dataclass(slots=True)
class Job:
    """One repository being fetched: what was asked, and the figures and ETags gathered."""

    request: RepoRequest
    usage: Usage
    weeks: Window  # the 52 weeks every repository of the batch counts
    figures: RepoFigures = field(default_factory=RepoFigures)
    etags: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.request.key.path

    @property
    def since(self) -> str:
        """The window's start as the forges' `since` parameter takes it."""
        return self.weeks.start.strftime("%Y-%m-%dT%H:%M:%SZ")

    def empty(self) -> None:
        """An empty repository: no commits, nobody contributed yet."""
        self.figures.participants = []
        self.figures.commits_over_52 = [0] * WEEKS

    def result(self) -> RepoResult:
        return RepoResult(self.request.key, Outcome.OK, self.figures, self.etags)


def repository_figures(
    figures: RepoFigures,
    asked_path: str,
    *,
    path: str,
    url: str,
    description: str | None,
    stars: int | None = None,
    forks: int | None = None,
    archived: bool | None = None,
) -> None:
    """A repository's own figures, as its forge names them. The forge calls it `path`:
    if that is not the path asked for, the repository was renamed or transferred, and
    lives on at `url`."""
    figures.stars, figures.forks, figures.archived = stars, forks, archived
    figures.description = description or ""
    if path.casefold() != asked_path.casefold():
        figures.moved_to = url


def forge_names(**names: str) -> ConfigDict:
    """A payload model's config that reads our fields under the forge's names."""
    return ConfigDict(
        alias_generator=AliasGenerator(validation_alias=lambda field: names.get(field, field))
    )


class ForgeRepository(UpstreamModel):
    """A repository as GitLab and Forgejo describe it, under our names: each forge's model
    gives their names in the forge's own API (`model_config = forge_names(...)`)."""

    path: Name
    url: Name
    stars: Count
    forks: Count
    description: Description | None = None
    archived: bool

    def figures_into(self, figures: RepoFigures, asked_path: str) -> None:
        repository_figures(
            figures,
            asked_path,
            path=self.path,
            url=self.url,
            description=self.description,
            stars=self.stars,
            forks=self.forks,
            archived=self.archived,
        )


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    value: T
    url: httpx.URL  # where it was found, redirects followed


class ClientOptions(TypedDict, total=False):
    """What every REST forge client may be given besides its API base."""

    token: str | None
    concurrency: int  # repositories fetched at once
    max_commit_pages: int  # a busier repository keeps its old weekly totals
    now: Callable[[], dt.datetime] | None  # the clock the 52 weeks are counted from


class RestForgeClient:
    """What the GitLab, Forgejo and Bitbucket clients share: every repository fetched on
    its own, at most `concurrency` at once, with this forge's token header on every
    request; a conditional resource, a listing walked page by page, the default branch's
    commits counted in weeks, and participants ranked from commit authors. A subclass
    names its forge and its token header, and says how to fetch one repository
    (`_fetch`) with these."""

    name: str  # the forge: a metrics and log label, and the start of each error
    auth_header: str  # the header the token is sent in
    auth_prefix: str = ""  # what comes before the token in it ("Bearer ")
    commit_pages: int = 20  # default of max_commit_pages

    def __init__(
        self,
        upstream: Upstream,
        *,
        api_url: str,
        token: str | None = None,
        concurrency: int = 8,
        max_commit_pages: int | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._upstream = upstream
        self._api = api_url.rstrip("/")
        self._headers = {self.auth_header: f"{self.auth_prefix}{token}"} if token else {}
        self._concurrency = concurrency
        self._max_commit_pages = self.commit_pages if max_commit_pages is None else max_commit_pages
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    async def fetch_many(self, repos: Sequence[RepoRequest], usage: Usage) -> list[RepoResult]:
        # One window for the whole batch, so every repository counts the same 52 weeks.
        weeks = window(self._now())

        async def fetch_one(request: RepoRequest) -> RepoResult:
            job = Job(request, usage, weeks)
            await self._fetch(job)
            return job.result()

        return await fetch_each(self.name, repos, fetch_one, self._concurrency)

    async def _fetch(self, job: Job) -> None:
        """Gather one repository's figures and ETags into `job`; raise a Refusal (or a
        PayloadError) for an outcome other than OK."""
        raise NotImplementedError

    async def _get(
        self,
        url: str,
        usage: Usage,
        what: str,
        *,
        params: Params | None = None,
        etag: str | None = None,
    ) -> httpx.Response | None:
        return await get(
            self._upstream,
            url,
            usage=usage,
            what=f"{self.name} {what}",
            headers=self._headers,
            params=params,
            etag=etag,
        )

    async def _require(
        self, url: str, usage: Usage, what: str, *, params: Params | None = None
    ) -> httpx.Response:
        response = await self._get(url, usage, what, params=params)
        assert response is not None  # unconditional requests are never 304
        return response

    async def _resource(
        self,
        job: Job,
        url: str,
        resource: str,
        adapter: TypeAdapter[T],
        *,
        what: str = "",
        params: Params | None = None,
    ) -> Fetched[T] | None:
        """`resource` asked for with the ETag it had last time; None when unchanged (304),
        its ETag then kept and its figures left None."""
        what = what or f"{resource} {job.path}"
        stored = job.request.etags.get(resource)
        response = await self._get(url, job.usage, what, params=params, etag=stored)
        if response is None:
            job.etags[resource] = stored or ""
            return None
        value = await parse(adapter, response, f"{self.name} {what}")
        if etag := etag_of(response):
            job.etags[resource] = etag
        return Fetched(value, response.url)

    async def _list(
        self,
        job: Job,
        url: str,
        read: PageReader[T],
        *,
        resource: str,
        params: Params,
        weeks: Window | None = None,
        max_pages: int | None = None,
        max_items: int | None = None,
        reached: Callable[[list[T]], bool] | None = None,
    ) -> Listing[T] | None:
        """A listing, page after page from `url`; None when its first page is unchanged
        (304). The walk ends at the last page or at a page `reached` says ends what is
        wanted (complete), or after `max_pages` pages or `max_items` items (incomplete).

        Only a listing read whole in one page keeps its ETag: a later page may change
        while the first does not. `weeks`: the ETag holds only for that window (a
        commit listing counted a week later lands in other buckets).
        """
        what = f"{resource} of {job.path}"
        stored = job.request.etags.get(resource)
        if weeks is not None:
            stored = etag_for_window(stored, weeks)
        response = await self._get(url, job.usage, what, params=params, etag=stored)
        if response is None:
            job.etags[resource] = windowed_etag(stored or "", weeks) if weeks else stored or ""
            return None
        first = response
        items: list[T] = []
        first_page: list[T] | None = None
        pages = 1
        while True:
            page = await read(response, f"{self.name} {what}")
            items += page.items
            first_page = page.items if first_page is None else first_page
            following = None if reached and reached(page.items) else page.next
            if (
                following is None
                or (max_pages is not None and pages >= max_pages)
                or (max_items is not None and len(items) >= max_items)
            ):
                break
            if not same_origin(following, response.url):
                raise Refusal(Outcome.FAILED, f"{self.name} {what}: next page off host")
            response = await self._require(str(response.url.join(following)), job.usage, what)
            pages += 1
        complete = following is None
        if complete and pages == 1 and (etag := etag_of(first)):
            job.etags[resource] = windowed_etag(etag, weeks) if weeks else etag
        return Listing(items, complete, first_page)

    async def _commits(
        self,
        job: Job,
        url: str,
        read: PageReader[C],
        *,
        params: Params,
        walk_to_window: bool = False,
    ) -> Listing[C] | None:
        """The default branch's commits of the window, newest first, and from them the
        weekly totals, when every page could be read within the bound (otherwise the old
        totals stay). None when unchanged since last time.

        `walk_to_window`: the forge may list older commits too (no `since`, or an instance
        that ignores it), so the walk ends at an empty page or one that reaches back past
        the window's start; git's order is only roughly by date (a rebased commit keeps an
        old date), so an old commit in the middle of a page does not end it.
        """

        def reached(page: list[C]) -> bool:
            return not page or page[-1].when < job.weeks.start

        listing = await self._list(
            job,
            url,
            read,
            resource="commits",
            params=params,
            weeks=job.weeks,
            max_pages=self._max_commit_pages,
            reached=reached if walk_to_window else None,
        )
        if listing is not None and listing.complete:
            job.figures.commits_over_52 = job.weeks.totals(c.when for c in listing.items)
        return listing

    async def _newest(
        self, job: Job, url: str, adapter: TypeAdapter[list[C]], params: Params
    ) -> list[C]:
        """The newest commits, whatever their date: a `since` listing of a repository
        quiet for 52 weeks holds none, and the last commit is older."""
        what = f"commits of {job.path}"
        response = await self._require(url, job.usage, what, params=params)
        return await parse(adapter, response, f"{self.name} {what}")

    @staticmethod
    def _last_commit(job: Job, commits: Sequence[Dated]) -> None:
        if commits:
            job.figures.last_commit_at = max(commit.when for commit in commits)

    @staticmethod
    def _authors(job: Job, commits: Sequence[A], newest: Sequence[A]) -> None:
        """Participants: the accounts of the window's commit authors, most commits first;
        when the window holds none, those of the `newest` commits."""
        in_window = [commit for commit in commits if commit.when >= job.weeks.start]
        job.figures.participants = rank_logins(commit.login for commit in in_window or newest)
