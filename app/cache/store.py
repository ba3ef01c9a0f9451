"""The answers a worker keeps, bounded in bytes, and the rule that keeps them exact.

An answer is stored only if nothing it depends on changed while it was being read: a read
notes the store's clock when it starts (`begin`), every change ticks the clock and notes
when each tag last changed, and `put` refuses an answer whose tags changed after its start.
Without that, a read that began before a write and finished after its notification would
keep the old answer until the next write. A change evicts, at once, every stored answer
that depends on it (by tag index), so a lookup needs no validity check at all.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from app.cache.tags import ANY, EVERYTHING, family
from app.metrics import CACHE_BYTES, CACHE_ENTRIES, CACHE_EVICTIONS

# The store's key: method-independent facts of the request that change the answer
# (app.cache.middleware.request_key).
Key = tuple[bytes, ...]
# What an entry costs beside its body and headers: the objects, the key, the indexes.
ENTRY_OVERHEAD = 600
# One answer may take at most this share of the store, so one huge page cannot flush it.
LARGEST_SHARE = 8
# Past this many remembered changes, forget those older than every read still running.
RECENT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Entry:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    etag: str | None
    tags: tuple[str, ...]
    size: int
    # Unix time from which time alone changes the answer (a status's month turns), or None.
    expires: float | None = None


def entry_size(key: Key, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> int:
    return (
        len(body)
        + sum(len(part) for part in key)
        + sum(len(name) + len(value) for name, value in headers)
        + ENTRY_OVERHEAD
    )


def _indexed(tags: Iterable[str]) -> set[str]:
    """An entry's tags and their families (`p:12` is also gone when `p:*` changes)."""
    indexed = set(tags)
    indexed |= {parent for tag in tags if (parent := family(tag)) is not None}
    return indexed


class ResponseStore:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.entries: OrderedDict[Key, Entry] = OrderedDict()
        self.by_tag: dict[str, set[Key]] = {}
        self.bytes = 0
        self.clock = 0
        # When each tag last changed, kept while a read that started before it may finish.
        self.recent: dict[str, int] = {}
        # The start clocks of the reads running now, and how many started at each.
        self.reading: Counter[int] = Counter()

    def get(self, key: Key, now: float) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.expires is not None and now >= entry.expires:
            self._remove(key, "expired")
            return None
        self.entries.move_to_end(key)
        return entry

    def begin(self) -> int:
        """A read starts: the clock its answer will be judged against."""
        self.reading[self.clock] += 1
        return self.clock

    def end(self, start: int) -> None:
        self.reading[start] -= 1
        if self.reading[start] <= 0:
            del self.reading[start]
        if not self.reading:
            self.recent.clear()  # every later read starts after these changes
        elif len(self.recent) > RECENT_LIMIT:
            oldest = min(self.reading)
            self.recent = {tag: at for tag, at in self.recent.items() if at > oldest}

    def put(self, key: Key, entry: Entry, start: int) -> bool:
        """Keep `entry` unless something it depends on changed since `start`, or it is
        too large to share the store."""
        if entry.size * LARGEST_SHARE > self.max_bytes:
            return False
        recent = self.recent
        if recent.get(EVERYTHING, -1) > start:
            return False
        if any(recent.get(tag, -1) > start for tag in _indexed(entry.tags)):
            return False
        self._remove(key, "replaced")
        self.entries[key] = entry
        self.bytes += entry.size
        for tag in _indexed(entry.tags):
            self.by_tag.setdefault(tag, set()).add(key)
        while self.bytes > self.max_bytes and self.entries:
            oldest = next(iter(self.entries))
            self._remove(oldest, "size")
        self._observe()
        return True

    def changed(self, tags: Iterable[str]) -> None:
        """Data behind `tags` changed (committed): forget every answer that shows it."""
        self.clock += 1
        tags = list(tags)
        if EVERYTHING in tags:
            self.clear()
            return
        for tag in [*tags, ANY]:
            if self.reading:
                self.recent[tag] = self.clock
            for key in self.by_tag.pop(tag, ()):
                self._remove(key, "changed")
        self._observe()

    def clear(self) -> None:
        """Forget everything, and refuse every answer a running read brings back."""
        self.clock += 1
        if self.entries:
            CACHE_EVICTIONS.labels("changed").inc(len(self.entries))
        self.entries.clear()
        self.by_tag.clear()
        self.bytes = 0
        self.recent = {EVERYTHING: self.clock}
        self._observe()

    def _remove(self, key: Key, reason: str) -> None:
        entry = self.entries.pop(key, None)
        if entry is None:
            return
        self.bytes -= entry.size
        for tag in _indexed(entry.tags):
            keys = self.by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.by_tag[tag]
        if reason != "replaced":
            CACHE_EVICTIONS.labels(reason).inc()

    def _observe(self) -> None:
        CACHE_BYTES.set(self.bytes)
        CACHE_ENTRIES.set(len(self.entries))
