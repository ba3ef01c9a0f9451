"""The import and export jobs: each owns its engine and its one transaction."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.transfer.exporter import export
from app.transfer.format import FormatError
from app.transfer.loader import Loader
from app.transfer.progress import NoProgress, Progress
from app.transfer.records import Kind
from app.transfer.sink import Recording, Sink
from app.transfer.source_file import FileSource
from app.transfer.source_http import FetchError, HttpSource
from app.transfer.summary import Summary


class Source(Protocol):
    def describe(self) -> str: ...

    def check(self) -> None:
        """What can be checked before the database is opened; FormatError if it fails."""

    async def feed(self, loader: Sink, progress: Progress) -> None: ...


def open_source(source: str, *, attempts: int | None = None) -> Source:
    """An API root URL (http or https), or a file written by export (`-`: stdin)."""
    if source.lower().startswith(("http://", "https://")):
        return HttpSource(source) if attempts is None else HttpSource(source, attempts=attempts)
    return FileSource(source)


@dataclass(slots=True)
class ImportResult:
    summary: Summary
    committed: bool
    # Why the source stopped before its end (a fetch error, a malformed document), if it did.
    error: str | None = None


async def run_import(
    settings: Settings, source: Source, *, atomic: bool = False, progress: Progress | None = None
) -> ImportResult:
    """Load `source` into the database in one transaction.

    Without `atomic`, everything accepted commits, even when the source failed halfway
    (what was read before the failure is loaded; `error` says where it stopped). With
    `atomic`, any refusal or failure rolls everything back.
    """
    # The whole source is read before the write transaction opens (app/transfer/sink.py):
    # a slow or retrying upstream never holds the database's write lock.
    recording = Recording()
    error = None
    try:
        await source.feed(recording, progress or NoProgress())
    except (FetchError, FormatError) as failure:
        error = str(failure)
    async with loading(settings) as loader:
        await recording.replay(loader)
        summary = await loader.finish()
        if atomic and (error or summary.refused):
            await loader.session.rollback()
            return ImportResult(summary, committed=False, error=error)
        await loader.session.commit()
        return ImportResult(summary, committed=True, error=error)


@contextlib.asynccontextmanager
async def loading(settings: Settings) -> AsyncIterator[Loader]:
    """A Loader on a job's own engine and session, for one transaction that the caller
    commits or rolls back (left open, it rolls back). Also `packages-api demo`'s."""
    engine = create_engine(settings, job=True)
    try:
        sessionmaker = create_sessionmaker(
            engine, changes_retention_days=settings.changes_retention_days
        )
        async with sessionmaker() as session:
            # SQLite: take the write lock now, not at the first write after many reads.
            await session.connection(execution_options={"sqlite_write": True})
            yield Loader(session, forge_hosts=settings.forge_hosts)
    finally:
        await engine.dispose()


class OutputError(Exception):
    """The export's destination cannot be written; the database is not to blame.

    asyncpg reports a refused connection as a plain OSError too, so file errors are told
    apart where they happen, not by their type."""

    def __init__(self, target: str, error: OSError) -> None:
        super().__init__(f"cannot write {target}: {error.strerror or error}")


@contextlib.contextmanager
def _output(target: str) -> Iterator[None]:
    """Around file operations only: their OSErrors are the destination's."""
    try:
        yield
    except OSError as error:
        raise OutputError(target, error) from error


def _writer(write: Callable[[str], object], target: str) -> Callable[[str], None]:
    """`write`, its OSErrors the destination's (the export's reads run in between)."""

    def guarded(text: str) -> None:
        with _output(target):
            write(text)

    return guarded


async def run_export(settings: Settings, path: str) -> dict[Kind, int]:
    """Export the whole directory to `path` (`-`: stdout). A file appears only complete:
    it is written next to its destination and renamed into place.

    Raises OutputError when the destination cannot be written; a database failure comes
    out as it is (the CLI names the database for it)."""
    engine = create_engine(settings, job=True)
    try:
        async with create_sessionmaker(engine)() as session:
            if not settings.is_sqlite:
                # One snapshot for every section, however long the export takes.
                await session.connection(
                    execution_options={
                        "isolation_level": "REPEATABLE READ",
                        "postgresql_readonly": True,
                    }
                )
            # One read transaction (SQLite: a WAL snapshot from the first read), never committed.
            if path == "-":
                counts = await export(session, _writer(sys.stdout.write, "stdout"))
                with _output("stdout"):
                    sys.stdout.flush()
                return counts
            return await _export_to_file(session, Path(path))
    finally:
        await engine.dispose()


async def _export_to_file(session: AsyncSession, path: Path) -> dict[Kind, int]:
    target = str(path)
    with _output(target):
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            counts = await export(session, _writer(stream.write, target))
            with _output(target):
                stream.flush()
        with _output(target):
            # mkstemp makes it private (0600); a finished export gets a plain file's mode.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
            os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return counts
