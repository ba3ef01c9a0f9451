"""The refresher: claims due packages, fetches them upstream with no transaction open, and
writes each package's results in its own short transaction.

One `Refresher` per process serves three callers with the same code: the periodic loop
started in the lifespan, `packages-api refresh`, and on-demand refreshes (the POST
endpoint and the GitHub webhook). Concurrency is bounded by REFRESH_CONCURRENCY batches;
every batch and every write has its own session. A package is never refreshed twice at
once: the lease excludes other processes and `_in_flight` this one (even if a lease ran
out while its fetch was slow).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.changes import record
from app.columns import utcnow
from app.config import Settings
from app.db import SqliteWriters, begin_writing, sqlite_writers
from app.forges.base import (
    ForgeClient,
    Outcome,
    PypiClient,
    PypiResult,
    RepoKey,
    RepoRequest,
    RepoResult,
    Usage,
)
from app.hosts import host_of
from app.metrics import PACKAGES_REFRESHED, REFRESH_LAST_SUCCESS
from app.models import RefreshRun

# Where a pypi_url names its project: app.normalize (the lookup reads it too).
from app.normalize import PYPI_HOSTS as PYPI_HOSTS
from app.normalize import pypi_project as pypi_project
from app.refresh import repository
from app.refresh.apply import PackageOutcome, Plan, changed_figures, moved_url, plan
from app.refresh.pending import PendingRetries
from app.refresh.repository import Claimed, Selection

logger = logging.getLogger("packages_api.refresh")

# How long a stopping refresher lets in-flight batches finish before abandoning them.
STOP_GRACE_SECONDS = 10.0
# On-demand refreshes (POST, webhooks) one process runs at once; more are refused (503),
# so a flood of requests cannot start unbounded work.
MAX_ON_DEMAND = 64
# stuck(): no run or batch finished for 3 intervals or a lease, whichever is longer, + this.
STUCK_MARGIN = dt.timedelta(minutes=2)


class ForgeDirectory(Protocol):
    """What the refresher needs of app.forges.registry.Forges."""

    @property
    def pypi(self) -> PypiClient | None: ...

    def for_repo(self, repo_url: str) -> tuple[ForgeClient, RepoKey] | None: ...


class RefresherBusy(Exception):
    """Too many on-demand refreshes are running in this process."""


class Progress(Protocol):
    def total(self, count: int) -> None: ...

    def advance(self, slug: str, outcome: PackageOutcome) -> None: ...


@dataclass(slots=True)
class RunSummary:
    started: dt.datetime
    finished: dt.datetime | None = None
    outcomes: Counter[PackageOutcome] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    failure: str | None = None  # run-level: the run could not go on (database, a bug)
    interrupted: bool = False

    @property
    def packages(self) -> int:
        return sum(self.outcomes.values())

    @property
    def requests(self) -> int:
        return sum(self.usage.requests.values())

    @property
    def seconds(self) -> float:
        end = self.finished or utcnow()
        return (end - self.started).total_seconds()


@dataclass(slots=True)
class _Fetched:
    forge: str | None = None
    repo: RepoResult | None = None
    pypi: PypiResult | None = None


class Refresher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        forges: ForgeDirectory,
        settings: Settings,
        *,
        owner: str | None = None,
        writers: SqliteWriters | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.forges = forges
        self.settings = settings
        # Unique per process and start, so a restarted replica never mistakes a dead
        # predecessor's leases for its own.
        self.owner = (owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")[:100]
        self.last_success: dt.datetime | None = None
        self._heartbeat = utcnow()
        self._stopping = asyncio.Event()
        self._in_flight: set[int] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._on_demand: set[asyncio.Task[None]] = set()
        self._writes: set[asyncio.Task[dict[int, PackageOutcome]]] = set()
        self._pypi_hosts = frozenset({host_of(settings.pypi_url)})
        # SQLite: the queue of this process's writers, the API's requests included.
        self._writers = writers or sqlite_writers(settings)
        # Whether stop() may have leases to release (a process that never claimed has none).
        self._claimed_any = False

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction (BEGIN IMMEDIATE on SQLite), committed by the
        caller. On SQLite it first waits its turn among the process's writers (see
        app.db.SqliteWriters): with SQLite's busy handler alone, each of a run's concurrent
        writes waited ~60 ms; queued, each takes a millisecond or two."""
        async with contextlib.AsyncExitStack() as stack:
            if self._writers is not None:
                await stack.enter_async_context(self._writers.turn(patient=True))
            session = await stack.enter_async_context(self.sessionmaker())
            await begin_writing(session)
            yield session

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the periodic loop (REFRESH_INTERVAL apart) in the running event loop."""
        if self._loop_task is None:
            self._heartbeat = utcnow()
            self._loop_task = asyncio.create_task(self._periodic(), name="refresher")

    @property
    def periodic(self) -> bool:
        return self._loop_task is not None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def request_stop(self) -> None:
        """Claim nothing more; batches in flight go on to the end."""
        self._stopping.set()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop gracefully: in-flight batches get `grace` seconds to finish, then are
        abandoned (a write in progress still completes: it is shielded), and every lease
        still ours is released so another refresher need not wait for it to expire."""
        self._stopping.set()
        tasks: list[asyncio.Task[Any]] = [*self._on_demand]
        if self._loop_task is not None:
            tasks.append(self._loop_task)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(*self._writes, return_exceptions=True)
        if not self._claimed_any:
            return
        try:
            async with self._writing() as session:
                released = await repository.release(session, self.owner)
                await session.commit()
            if released:
                logger.info("released %d unfinished claims", released)
        except Exception:
            logger.warning("could not release claims; they expire with their lease", exc_info=True)

    def stuck(self) -> bool:
        """True when the periodic loop has died, or has not finished a run or a batch for
        longer than any healthy batch can take: for the readiness check.

        A batch may legitimately wait out a rate limit (up to UPSTREAM_MAX_WAIT), and every
        replica shares the token and waits together; the lease is set longer than that
        wait, so only a batch that outlives its lease counts: a shorter window would take
        every healthy replica out of service at once for a GitHub rate limit."""
        if self._loop_task is None:
            return False
        if self._loop_task.done():
            return True
        interval = dt.timedelta(seconds=self.settings.refresh_interval)
        lease = dt.timedelta(seconds=self.settings.refresh_lease_seconds)
        window = max(3 * interval, lease) + STUCK_MARGIN
        return utcnow() - self._heartbeat > window

    async def _periodic(self) -> None:
        stale = dt.timedelta(hours=self.settings.refresh_stale_hours)
        while not self._stopping.is_set():
            summary = await self.run(Selection(stale_after=stale))
            if summary.packages or summary.failure:
                _log_summary(summary)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.refresh_interval)

    # --- runs ------------------------------------------------------------------------

    async def run(
        self,
        selection: Selection,
        progress: Progress | None = None,
        summary: RunSummary | None = None,
        *,
        pending_wait: float = 0.0,
    ) -> RunSummary:
        """Refresh every package the selection makes due, REFRESH_CONCURRENCY batches at a
        time, each package once, or again while a forge is still computing its figures
        (PENDING), with backoff, for up to `pending_wait` seconds (app.refresh.pending).
        Never raises for a package's problem; a problem that stops the run (the database)
        is the summary's `failure`. Pass `summary` to keep the counts of a run that gets
        cancelled."""
        summary = summary or RunSummary(started=utcnow())
        slots = asyncio.Semaphore(self.settings.refresh_concurrency)
        batches: set[asyncio.Task[None]] = set()
        retries = PendingRetries(pending_wait)
        exhausted = False  # every package the selection makes due has been claimed
        try:
            if progress is not None:
                async with self.sessionmaker() as session:
                    progress.total(
                        await repository.count_due(session, selection, utcnow(), summary.started)
                    )
            while not self._stopping.is_set() and summary.failure is None:
                await slots.acquire()
                if self._stopping.is_set() or summary.failure is not None:
                    slots.release()
                    break
                claimed: list[Claimed] = []
                if not exhausted:
                    claimed = await self._claim(selection, run_started=summary.started)
                    exhausted = not claimed
                if not claimed and (due := retries.take_due()):
                    again = Selection(stale_after=None, respect_backoff=False, ids=due)
                    claimed = await self._claim(again, run_started=None)
                    retries.forget(tuple(set(due) - {package.id for package in claimed}))
                if claimed:
                    task = asyncio.create_task(self._batch(claimed, summary, progress, retries))
                    batches.add(task)
                    task.add_done_callback(batches.discard)
                    task.add_done_callback(lambda _task: slots.release())
                    continue
                slots.release()
                wait = retries.seconds_to_next()
                if not batches and wait is None:
                    break
                # A batch ending may leave packages pending; a pending one may come due.
                await self._until_one_of(batches, wait)
            if batches:
                await asyncio.gather(*batches)
        except Exception as error:  # the run's own work failed: stop claiming, say why
            logger.exception("refresh run failed")
            summary.failure = summary.failure or _describe(error)
            await asyncio.gather(*batches, return_exceptions=True)
        finally:
            # Cancelled (the CLI's second Ctrl+C, a caller's timeout): the batches are the
            # run's and stop with it. Left running, they went on fetching and writing after
            # the caller disposed of the engine, and their connections were never closed.
            # A write under way still completes (it is shielded; stop() waits for it).
            orphans = [task for task in batches if not task.done()]
            for task in orphans:
                task.cancel()
            if orphans:
                await asyncio.gather(*orphans, return_exceptions=True)
        summary.interrupted = self._stopping.is_set()
        summary.finished = utcnow()
        self._heartbeat = summary.finished
        if summary.failure is None and not summary.interrupted:
            self.last_success = summary.finished
            REFRESH_LAST_SUCCESS.set(time.time())
        await self._record(summary)
        return summary

    async def _record(self, summary: RunSummary) -> None:
        """Persist how the run ended and the budgets the forges reported, for the status
        resource. Bookkeeping: a failure to write it is logged, never the run's failure."""
        assert summary.finished is not None
        outcome = "failed" if summary.failure else "interrupted" if summary.interrupted else "ok"
        run = RefreshRun(
            worker=self.owner,
            started=summary.started,
            finished=summary.finished,
            outcome=outcome,
            packages={o.value: summary.outcomes[o] for o in PackageOutcome},
            requests=summary.requests,
            failure=(summary.failure or "")[:1000],
        )
        try:
            async with self._writing() as session:
                await repository.record_run(session, run)
                await repository.save_budgets(session, list(summary.usage.budgets.values()))
                await session.commit()
        except Exception:
            logger.warning("could not record the refresh run", exc_info=True)

    async def _save_budgets(self, usage: Usage) -> None:
        if not usage.budgets:
            return
        try:
            async with self._writing() as session:
                await repository.save_budgets(session, list(usage.budgets.values()))
                await session.commit()
        except Exception:
            logger.warning("could not record the forges' rate-limit budgets", exc_info=True)

    async def _until_one_of(self, batches: set[asyncio.Task[None]], seconds: float | None) -> None:
        """Until a batch ends, `seconds` pass (None: no limit), or the refresher stops."""
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({*batches, stop}, timeout=seconds, return_when="FIRST_COMPLETED")
        finally:
            stop.cancel()

    async def claim_on_demand(self, session: AsyncSession, package_id: int) -> list[Claimed]:
        """Lease one package for an immediate refresh, whatever its age or back-off, in the
        caller's transaction (the request's: on SQLite a second writer would wait for it).
        Empty when it is being refreshed already, here or by another replica: coalesced.
        Start it with `start_on_demand` once that transaction has committed."""
        if package_id in self._in_flight:
            return []
        self._claimed_any = True
        # Checked, not reserved: the overshoot is bounded by the requests in flight.
        if self._stopping.is_set() or len(self._on_demand) >= MAX_ON_DEMAND:
            raise RefresherBusy
        return await repository.claim(
            session,
            owner=self.owner,
            selection=Selection(stale_after=None, respect_backoff=False, ids=(package_id,)),
            now=utcnow(),
            run_started=None,
            lease=dt.timedelta(seconds=self.settings.refresh_lease_seconds),
            limit=1,
            exclude=frozenset(self._in_flight),
        )

    async def start_on_demand(self, claimed: list[Claimed]) -> None:
        """Fetch and write packages claimed by `claim_on_demand`, in the background."""
        claimed = [package for package in claimed if package.id not in self._in_flight]
        if not claimed:
            return
        self._in_flight.update(package.id for package in claimed)
        task = asyncio.create_task(self._on_demand_batch(claimed, RunSummary(started=utcnow())))
        self._on_demand.add(task)
        task.add_done_callback(self._on_demand.discard)

    async def drain(self) -> None:
        """Wait until the on-demand refreshes started so far have finished."""
        while self._on_demand:
            await asyncio.gather(*self._on_demand, return_exceptions=True)

    async def _on_demand_batch(self, claimed: list[Claimed], summary: RunSummary) -> None:
        await self._batch(claimed, summary, None)
        await self._save_budgets(summary.usage)
        if summary.failure:
            logger.error("on-demand refresh failed: %s", summary.failure)

    async def _claim(
        self, selection: Selection, *, run_started: dt.datetime | None
    ) -> list[Claimed]:
        async with self._writing() as session:
            claimed = await repository.claim(
                session,
                owner=self.owner,
                selection=selection,
                now=utcnow(),
                run_started=run_started,
                lease=dt.timedelta(seconds=self.settings.refresh_lease_seconds),
                limit=self.settings.refresh_batch_size,
                exclude=frozenset(self._in_flight),
            )
            await session.commit()
        # Before any await: nothing in this process can claim them again meanwhile.
        self._in_flight.update(package.id for package in claimed)
        self._claimed_any = self._claimed_any or bool(claimed)
        return claimed

    async def _batch(
        self,
        claimed: list[Claimed],
        summary: RunSummary,
        progress: Progress | None,
        retries: PendingRetries | None = None,
    ) -> None:
        written = False
        try:
            fetched = await self._fetch(claimed, summary.usage)
            outcomes = await self._write_shielded(claimed, fetched)
            written = True
            for package in claimed:
                outcome = outcomes[package.id]
                pending = outcome is PackageOutcome.PENDING
                again = retries is not None and retries.note(package.id, pending=pending)
                if again:  # counted once, as it ends
                    summary.outcomes[PackageOutcome.PENDING] -= 1
                    summary.outcomes += Counter()  # drops the count if it fell to nothing
                summary.outcomes[outcome] += 1
                PACKAGES_REFRESHED.labels(outcome.value).inc()
                if progress is not None and not again:
                    progress.advance(package.slug, outcome)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            logger.exception("refresh batch failed")
            summary.failure = summary.failure or _describe(error)
            if not written:
                await self._release_quietly([package.id for package in claimed])
        finally:
            self._in_flight.difference_update(package.id for package in claimed)
            self._heartbeat = utcnow()

    async def _release_quietly(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        try:
            async with self._writing() as session:
                await repository.release(session, self.owner, ids)
                await session.commit()
        except Exception:
            logger.warning("could not release %d claims", len(ids), exc_info=True)

    # --- fetching --------------------------------------------------------------------

    async def _fetch(self, claimed: list[Claimed], usage: Usage) -> dict[int, _Fetched]:
        """Every package's upstream results: one fetch_many per forge for the whole batch
        (GitHub answers many repositories per GraphQL query) and PyPI per package, all at
        once. A repository on a host that is not configured is not contacted at all."""
        fetched = {package.id: _Fetched() for package in claimed}
        groups: dict[int, tuple[ForgeClient, list[tuple[Claimed, RepoKey]]]] = {}
        for package in claimed:
            found = self.forges.for_repo(package.repo_url) if package.repo_url else None
            if found is not None:
                client, key = found
                groups.setdefault(id(client), (client, []))[1].append((package, key))
                fetched[package.id].forge = client.name
        jobs: list[Awaitable[None]] = [
            self._fetch_group(client, members, usage, fetched)
            for client, members in groups.values()
        ]
        pypi = self.forges.pypi
        for package in claimed:
            project = pypi_project(package.pypi_url, self._pypi_hosts)
            if project is not None and pypi is not None:
                jobs.append(self._fetch_pypi(pypi, package, project, usage, fetched))
        await asyncio.gather(*jobs)
        return fetched

    async def _fetch_group(
        self,
        client: ForgeClient,
        members: list[tuple[Claimed, RepoKey]],
        usage: Usage,
        fetched: dict[int, _Fetched],
    ) -> None:
        # Unknown weeks are never taken as unchanged: no ETag may stand in for them.
        requests = [
            RepoRequest(key, package.etags if package.weeks_known else {})
            for package, key in members
        ]
        try:
            results = await client.fetch_many(requests, usage)
            if len(results) != len(requests):
                raise RuntimeError(
                    f"{client.name} answered {len(results)} results "
                    f"for {len(requests)} repositories"
                )
        except Exception as error:  # a client bug: its packages fail, the others go on
            logger.exception("%s client failed", client.name)
            results = [
                RepoResult(key, Outcome.FAILED, error=f"internal error: {_describe(error)}")
                for key in (request.key for request in requests)
            ]
        for (package, _key), result in zip(members, results, strict=True):
            fetched[package.id].repo = result

    async def _fetch_pypi(
        self,
        pypi: PypiClient,
        package: Claimed,
        project: str,
        usage: Usage,
        fetched: dict[int, _Fetched],
    ) -> None:
        try:
            result = await pypi.fetch(project, package.pypi_etag, usage)
        except Exception as error:
            logger.exception("pypi client failed", extra={"package": package.slug})
            result = PypiResult(
                project, Outcome.FAILED, error=f"internal error: {_describe(error)}"
            )
        fetched[package.id].pypi = result

    # --- writing ---------------------------------------------------------------------

    async def _write_shielded(
        self, claimed: list[Claimed], fetched: dict[int, _Fetched]
    ) -> dict[int, PackageOutcome]:
        """Write a batch's results; once started, the write completes even if the run is
        cancelled (stop() waits for it), so no package is ever half-written."""
        task = asyncio.create_task(self._write(claimed, fetched))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return await asyncio.shield(task)

    async def _write(
        self, claimed: list[Claimed], fetched: dict[int, _Fetched]
    ) -> dict[int, PackageOutcome]:
        """One short transaction for the batch: each package is one UPDATE of all its
        columns (written whole or not at all), only where our lease still holds. Round
        trips to the database, not rows, are what a busy event loop makes expensive:
        per-package transactions cost five each and made writing the bottleneck."""
        try:
            return await self._write_packages(claimed, fetched, taken_override=None)
        except IntegrityError:
            # A repository moved to a URL another package took after our check: write
            # them one by one, so only that package records the clash.
            outcomes: dict[int, PackageOutcome] = {}
            for package in claimed:
                try:
                    outcomes |= await self._write_packages([package], fetched, taken_override=None)
                except IntegrityError:
                    outcomes |= await self._write_packages(
                        [package], fetched, taken_override="another package"
                    )
            return outcomes

    async def _write_packages(
        self,
        claimed: list[Claimed],
        fetched: dict[int, _Fetched],
        *,
        taken_override: str | None,
    ) -> dict[int, PackageOutcome]:
        outcomes: dict[int, PackageOutcome] = {}
        plans: dict[int, Plan] = {}
        async with self._writing() as session:
            ours = await repository.lock_if_ours(
                session, [package.id for package in claimed], self.owner
            )
            now = utcnow()
            released: list[int] = []
            for package in claimed:
                row = ours.get(package.id)
                if row is None:
                    outcomes[package.id] = PackageOutcome.SKIPPED
                    continue
                if (row.repo_url, row.pypi_url) != (package.repo_url, package.pypi_url):
                    # Someone edited the URLs while we fetched: these figures are another
                    # repository's. Nothing is written; the next run fetches the new one.
                    outcomes[package.id] = PackageOutcome.SKIPPED
                    released.append(package.id)
                    continue
                result = fetched[package.id]
                taken_by = taken_override
                new_url = moved_url(row, result.repo, self.settings.forge_hosts)
                if new_url and taken_by is None:
                    taken_by = await repository.repo_url_owner(session, new_url, row.id)
                plans[package.id] = plan(
                    row,
                    forge=result.forge,
                    repo=result.repo,
                    pypi=result.pypi,
                    now=now,
                    moved_to_taken_by=taken_by,
                    hosts=self.settings.forge_hosts,
                )
                outcomes[package.id] = plans[package.id].outcome
            # Core UPDATEs, which the session's change hook cannot see: the figures that
            # really changed are noted for the change feed (app.changes.record).
            record.note(
                session,
                (
                    record.updated("packages", package_id, changed_figures(ours[package_id], item))
                    for package_id, item in plans.items()
                ),
            )
            await repository.write_many(
                session, [(package_id, item.values) for package_id, item in plans.items()]
            )
            if released:
                await repository.release(session, self.owner, released)
            await session.commit()
        for package in claimed:
            outcome = outcomes[package.id]
            extra = {"package": package.slug}
            if outcome is PackageOutcome.SKIPPED:
                logger.warning("lease lost or URLs edited; results discarded", extra=extra)
            elif outcome is PackageOutcome.FAILED:
                logger.warning("refresh failed: %s", plans[package.id].error, extra=extra)
            else:
                logger.debug("refresh %s", outcome.value, extra=extra)
        return outcomes


def _describe(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def _log_summary(summary: RunSummary) -> None:
    counts = ", ".join(f"{outcome.value} {summary.outcomes[outcome]}" for outcome in PackageOutcome)
    if summary.failure:
        logger.error("refresh run failed after %d packages: %s", summary.packages, summary.failure)
    logger.info(
        "refresh run: %s; %d requests, %d GitHub points, %.1f s",
        counts,
        summary.requests,
        summary.usage.github_points,
        summary.seconds,
    )
