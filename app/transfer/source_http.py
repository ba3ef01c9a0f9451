"""Import source: a djangopackages-compatible API v4, walked over HTTP.

From the root (`GET /api/v4/`) it walks categories, then grids, then packages, following
each list's `next` links. The original's package, category and grid resources are all it
needs; when the source is another packages-api (its grids link a comparison `table`), it
also fetches each grid's features, cells and membership dates, so nothing is lost.

Politeness: one client, at most `concurrency` requests at a time, a User-Agent naming us,
timeouts, and the forges' Upstream (app/forges/http.py): jittered retries on transport
errors and 5xx, and a 429 waited out (its Retry-After, else a minute). `next` links are
followed only within the origin of the root: a source speaks for its own host, and a page
pointing elsewhere is either a misconfiguration or an attempt to make us fetch for someone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
)
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from app.forges.base import Usage
from app.forges.http import Upstream, UpstreamError
from app.tls import tls_context
from app.transfer.progress import Progress
from app.transfer.records import (
    Kind,
    RecordError,
    SourceLinks,
    grid_from_api,
    is_ours_grid,
    label_of,
    package_from_api,
)
from app.transfer.sink import Sink

PAGE_SIZE = 100
CONCURRENCY = 4
ATTEMPTS = 4
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def user_agent() -> str:
    try:
        ours = version("packages-api")
    except PackageNotFoundError:  # running from a checkout that is not installed
        ours = "dev"
    return f"packages-api/{ours} (import; httpx/{httpx.__version__})"


class FetchError(Exception):
    """The source could not be read: what was asked, and what went wrong."""


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class HttpSource:
    def __init__(
        self,
        root_url: str,
        *,
        page_size: int = PAGE_SIZE,
        concurrency: int = CONCURRENCY,
        attempts: int = ATTEMPTS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.root_url = root_url if root_url.endswith("/") else f"{root_url}/"
        self.origin = _origin(self.root_url)
        self.page_size = page_size
        self.attempts = attempts
        self.concurrency = concurrency
        self._transport = transport
        self._upstream: Upstream | None = None
        self._usage = Usage()
        self.ours = False

    def describe(self) -> str:
        return self.root_url

    def check(self) -> None:
        """Nothing to check before the database: the root is read by feed()."""

    async def feed(self, loader: Sink, progress: Progress) -> None:
        async with self.connected():
            await self._walk(loader, progress)

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        """The client and Upstream that get_json uses, for the duration of the block
        (feed's walk, or `packages-api sync` reading the change feed)."""
        async with httpx.AsyncClient(
            headers={"User-Agent": user_agent(), "Accept": "application/json"},
            timeout=TIMEOUT,
            # Redirects are followed by hand, within the origin only (see _get).
            follow_redirects=False,
            transport=self._transport,
            # Proxies from the environment still apply; a .netrc does not add credentials.
            trust_env=True,
            verify=tls_context(),
        ) as client:
            self._upstream = Upstream(
                "import",
                client,
                max_in_flight=self.concurrency,
                attempts=self.attempts,
                # A source that says how long to wait is waited for, up to ten minutes.
                max_wait=600.0,
                wait_initial=0.2,
                wait_max=5.0,
            )
            try:
                yield
            finally:
                self._upstream = None

    async def _walk(self, loader: Sink, progress: Progress) -> None:
        root = await self.get_json(self.root_url)
        collections = {
            name: root.get(name) if isinstance(root, dict) else None
            for name in ("categories", "grids", "packages")
        }
        missing = [name for name, url in collections.items() if not isinstance(url, str)]
        if missing:
            raise FetchError(
                f"{self.root_url} is not a djangopackages-compatible API root: it does not "
                f"list {', '.join(missing)}"
            )
        urls: dict[str, str] = {
            name: urljoin(self.root_url, str(url)) for name, url in collections.items()
        }
        for url in urls.values():
            self._check_origin(url, "the API root lists")
        links = SourceLinks(urls)

        async def categories(results: list[Any]) -> None:
            await loader.add("categories", results)

        await self._each_page(urls["categories"], "categories", progress, categories)
        await loader.flush("categories")

        grid_members: dict[int, list[int]] = {}
        grid_urls: dict[int, str] = {}

        async def grids(results: list[Any]) -> None:
            records = []
            for data, record, package_ids in _read(loader, "grids", results, grid_from_api, links):
                records.append(record)
                if isinstance(record.get("id"), int):
                    grid_members[record["id"]] = package_ids
                    if is_ours_grid(data):
                        self.ours = True
                        grid_urls[record["id"]] = str(data.get("url") or "")
            await loader.add("grids", records)

        await self._each_page(urls["grids"], "grids", progress, grids)
        await loader.flush("grids")

        seen_pairs: set[tuple[int, int]] = set()

        async def packages(results: list[Any]) -> None:
            records = []
            memberships = []
            for _, record, grid_ids in _read(loader, "packages", results, package_from_api, links):
                records.append(record)
                package_id = record.get("id")
                if self.ours or not isinstance(package_id, int):
                    continue  # a packages-api source: memberships come with the tables
                for grid_id in grid_ids:
                    if (grid_id, package_id) not in seen_pairs:
                        seen_pairs.add((grid_id, package_id))
                        memberships.append({"grid": grid_id, "package": package_id})
            await loader.add("packages", records)
            await loader.add("memberships", memberships)

        await self._each_page(urls["packages"], "packages", progress, packages)
        await loader.flush("packages")

        if self.ours:
            await self._tables(loader, progress, grid_urls, grid_members)
        else:
            # The grids' side of the same relation: pairs no package listed.
            rest = [
                {"grid": grid_id, "package": package_id}
                for grid_id, package_ids in grid_members.items()
                for package_id in package_ids
                if (grid_id, package_id) not in seen_pairs
            ]
            await loader.add("memberships", rest)
        await loader.flush()

    async def _tables(
        self,
        loader: Sink,
        progress: Progress,
        grid_urls: Mapping[int, str],
        grid_members: Mapping[int, list[int]],
    ) -> None:
        """A packages-api source: memberships with their dates, features, cells."""
        for grid_id in sorted(grid_urls):
            url = grid_urls[grid_id]
            self._check_origin(url, "a grid links")
            package_ids = grid_members.get(grid_id, [])
            details = await asyncio.gather(
                *(self.get_json(f"{url}packages/{package_id}/") for package_id in package_ids)
            )
            memberships = [
                {"grid": grid_id, "package": package_id, "created": _dict(detail).get("created")}
                for package_id, detail in zip(package_ids, details, strict=True)
            ]
            await loader.add("memberships", memberships)
            progress.advance("memberships", len(memberships))

            features = await self.get_json(f"{url}features/")
            if not isinstance(features, list):
                raise FetchError(f"{url}features/ is not a list of features")
            records = []
            for feature in features:
                record = _dict(feature)
                record["grid"] = grid_id
                records.append(record)
            await loader.add("features", records)
            progress.advance("features", len(records))

            table = _dict(await self.get_json(f"{url}table/"))
            columns = [_dict(package).get("id") for package in table.get("packages") or []]
            cells = [
                (_dict(row).get("id"), package_id)
                for row in table.get("features") or []
                for package_id, text in zip(columns, _dict(row).get("elements") or [], strict=False)
                if text is not None
            ]
            details = await asyncio.gather(
                *(
                    self.get_json(f"{url}features/{feature_id}/elements/{package_id}/")
                    for feature_id, package_id in cells
                )
            )
            elements = []
            for (feature_id, package_id), detail in zip(cells, details, strict=True):
                element = _dict(detail)
                elements.append(
                    {
                        "feature": feature_id,
                        "package": package_id,
                        "text": element.get("text"),
                        "created": element.get("created"),
                        "modified": element.get("modified"),
                    }
                )
            await loader.add("elements", elements)
            progress.advance("elements", len(elements))

    async def _each_page(
        self,
        url: str,
        kind: Any,
        progress: Progress,
        handle: Callable[[list[Any]], Awaitable[None]],
    ) -> None:
        async with contextlib.aclosing(self._pages(url, kind, progress)) as pages:
            async for results in pages:
                await handle(results)

    async def _pages(self, url: str, kind: Any, progress: Progress) -> AsyncGenerator[list[Any]]:
        """Each page's results, following `next` (same origin only, never twice).

        The next page is fetched while the caller loads this one. Use with aclosing(), so
        a fetch still in flight is cancelled when the caller stops early.
        """
        current = str(httpx.URL(url).copy_merge_params({"limit": self.page_size}))
        seen = {current}
        pending: asyncio.Task[Any] | None = asyncio.create_task(self.get_json(current))
        try:
            while pending is not None:
                page = await pending
                pending = None
                if not (
                    isinstance(page, dict)
                    and isinstance(page.get("results"), list)
                    and isinstance(page.get("next"), str | None)
                ):
                    raise FetchError(
                        f"{current} is not a page of {kind} "
                        "(expected count, next, previous, results)"
                    )
                if len(seen) == 1:
                    count = page.get("count")
                    progress.total(kind, count if isinstance(count, int) else None)
                following, problem = self._following(current, page, seen)
                if following is not None:
                    seen.add(following)
                    pending = asyncio.create_task(self.get_json(following))
                yield page["results"]
                progress.advance(kind, len(page["results"]))
                if problem is not None:
                    # Raised after this page is loaded: what came before the problem counts.
                    raise problem
                current = following or current
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, FetchError):
                    await pending

    def _following(
        self, current: str, page: dict[str, Any], seen: set[str]
    ) -> tuple[str | None, FetchError | None]:
        """The next page's URL, or why it is not fetched."""
        if page["next"] is None:
            return None, None
        following = urljoin(current, page["next"])
        try:
            self._check_origin(following, f"the page {current} links")
        except FetchError as problem:
            return None, problem
        if following in seen:
            return None, FetchError(f"pagination loop: {following} was already fetched")
        if not page["results"]:
            return None, FetchError(f"{current} is an empty page that is not the last")
        return following, None

    def _check_origin(self, url: str, what: str) -> None:
        if _origin(url) != self.origin:
            raise FetchError(
                f"{what} {url}, outside {self.origin[0]}://{self.origin[1]}: not followed "
                "(an import reads only from the host it was given)"
            )

    async def get_json(self, url: str, *, missing_ok: bool = False) -> Any:
        """GET `url` and parse its JSON; FetchError if no usable answer came. With
        `missing_ok`, a 404 or 410 is returned as that int instead.

        Sent through the forges' Upstream (app/forges/http.py): the same retry policy,
        in-flight cap, Retry-After and rate-limit pauses, logging and metrics as every
        other upstream."""
        assert self._upstream is not None
        try:
            response = await self._get(self._upstream, url)
        except UpstreamError as error:
            raise FetchError(f"GET {url}: {_why(error)} after {_attempts(self.attempts)}") from None
        if missing_ok and response.status_code in {404, 410}:
            return response.status_code
        if response.status_code != 200:
            raise FetchError(f"GET {url}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise FetchError(f"GET {url}: the answer is not JSON") from None

    async def _get(self, upstream: Upstream, url: str) -> httpx.Response:
        """GET, following up to 5 redirects that stay within the origin (scheme, host and
        port: stricter than Upstream's own redirects, which keep only scheme and host)."""
        for _ in range(5):
            response = await upstream.request("GET", url, usage=self._usage)
            if not response.is_redirect:
                return response
            url = urljoin(url, response.headers["location"])
            self._check_origin(url, "a redirect leads to")
        raise FetchError(f"GET {url}: too many redirects")


def _why(error: UpstreamError) -> str:
    """What went wrong, as the import says it: the last status, or the transport error."""
    cause = error.__cause__
    if isinstance(cause, httpx.TransportError):
        return f"{type(cause).__name__} {cause}"
    response = getattr(cause, "response", None)
    if isinstance(response, httpx.Response):
        return f"HTTP {response.status_code}"
    return str(error)


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"


# Reads an API grid or package: its record in the export shape, and the ids it links to.
FromApi = Callable[[Any, SourceLinks], tuple[dict[str, Any], list[int]]]


def _read(
    loader: Sink, kind: Kind, results: list[Any], parse: FromApi, links: SourceLinks
) -> Iterator[tuple[Any, dict[str, Any], list[int]]]:
    """Each item of a page with what `parse` reads from it; an item it cannot read is
    refused (and reported with its label) instead."""
    for data in results:
        try:
            record, ids = parse(data, links)
        except RecordError as error:
            loader.refuse(kind, label_of(kind, _dict(data)), str(error))
            continue
        yield data, record, ids


def _dict(data: Any) -> dict[str, Any]:
    return dict(data) if isinstance(data, Mapping) else {}
