"""Import source: a document written by `packages-api export` (a path, or `-` for stdin)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from app.transfer.format import FormatError, read_document
from app.transfer.progress import Progress
from app.transfer.records import Kind
from app.transfer.sink import Sink


class FileSource:
    def __init__(self, path: str) -> None:
        self.path = path
        self._sections: list[tuple[Kind, list[Any]]] | None = None

    def describe(self) -> str:
        return "standard input" if self.path == "-" else self.path

    def _read(self) -> Any:
        try:
            if self.path == "-":
                return json.load(sys.stdin)
            with Path(self.path).open(encoding="utf-8") as stream:
                return json.load(stream)
        except json.JSONDecodeError as error:
            raise FormatError(f"{self.describe()} is not JSON: {error}") from None
        except UnicodeDecodeError as error:
            raise FormatError(f"{self.describe()} is not UTF-8 text: {error}") from None
        except OSError as error:
            raise FormatError(f"cannot read {self.describe()}: {error.strerror}") from None

    def check(self) -> None:
        """Read and check the whole document now (blocking): an unreadable file or one that
        is not an export stops the import before the database is touched. FormatError."""
        if self._sections is None:
            self._sections = read_document(self._read())

    async def feed(self, loader: Sink, progress: Progress) -> None:
        sections = self._sections
        if sections is None:
            # Parsing blocks for as long as the file is large: off the event loop.
            sections = read_document(await asyncio.to_thread(self._read))
        self._sections = None  # the records are the loader's now; free them once loaded
        for kind, records in sections:
            progress.total(kind, len(records))
            for start in range(0, len(records), loader.batch_size):
                batch = records[start : start + loader.batch_size]
                await loader.add(kind, batch)
                progress.advance(kind, len(batch))
            await loader.flush(kind)
