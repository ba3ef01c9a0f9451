"""The store's rule, against a model: it never returns an answer whose data changed after
its read began, and (room permitting) keeps every other one; memory stays bounded."""

from __future__ import annotations

from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from app.cache.store import Entry, ResponseStore, entry_size
from app.cache.tags import ANY, EVERYTHING, family, parse

ROW_TAGS = ["p:1", "p:2", "g:1", "c:1"]
ENTRY_TAGS = st.lists(st.sampled_from([*ROW_TAGS, ANY]), max_size=3).map(tuple)
# A change as the watchers report it: some rows, every row of a kind, or everything.
CHANGES = st.one_of(
    st.lists(st.sampled_from(ROW_TAGS), min_size=1, max_size=2),
    st.sampled_from([["p:*"], ["g:*"], [EVERYTHING]]),
)
KEYS = st.sampled_from([(b"a",), (b"b",), (b"c",)])
Operation = tuple[str, object]
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("begin"), st.tuples(KEYS, ENTRY_TAGS)),
        st.tuples(st.just("finish"), st.integers(0, 5)),
        st.tuples(st.just("change"), CHANGES),
        st.tuples(st.just("get"), KEYS),
    ),
    max_size=40,
)


def _entry(key: tuple[bytes, ...], tags: tuple[str, ...], body: bytes = b"x") -> Entry:
    return Entry(200, (), body, None, tags, entry_size(key, (), body))


def _touches(change: list[str], tags: tuple[str, ...]) -> bool:
    if EVERYTHING in change:
        return True
    return any(tag == ANY or tag in change or family(tag) in change for tag in tags)


@settings(max_examples=300, deadline=None)
@given(OPERATIONS)
def test_never_an_answer_older_than_a_change_and_every_other_one_kept(
    operations: list[Operation],
) -> None:
    store = ResponseStore(max_bytes=1 << 30)
    reads: list[tuple[tuple[bytes, ...], tuple[str, ...], int, list[list[str]]]] = []
    # The model: per key, the tags of the answer kept and the changes since its read began.
    model: dict[tuple[bytes, ...], tuple[tuple[str, ...], bool]] = {}
    for kind, argument in operations:
        if kind == "begin":
            key, tags = cast(tuple[tuple[bytes, ...], tuple[str, ...]], argument)
            reads.append((key, tags, store.begin(), []))
        elif kind == "finish" and reads:
            key, tags, start, seen = reads.pop(cast(int, argument) % len(reads))
            kept = store.put(key, _entry(key, tags), start)
            assert kept == (not any(_touches(change, tags) for change in seen))
            if kept:
                model[key] = (tags, True)
            store.end(start)
        elif kind == "change":
            change: list[str] = argument  # type: ignore[assignment]
            store.changed(change)
            for read in reads:
                read[3].append(change)
            for key, (tags, _) in list(model.items()):
                if _touches(change, tags):
                    del model[key]
        elif kind == "get":
            key = cast(tuple[bytes, ...], argument)
            found = store.get(key, 0.0)
            assert (found is not None) == (key in model)


def test_memory_is_bounded_least_recently_used_first() -> None:
    one = entry_size((b"k00",), (), b"x" * 1000)
    store = ResponseStore(max_bytes=one * 10)
    for number in range(12):
        key = (f"k{number:02}".encode(),)
        assert store.put(key, _entry(key, (), b"x" * 1000), store.begin())
        store.get((b"k00",), 0.0)  # k00 stays the most recently used
    assert store.bytes <= store.max_bytes
    assert store.get((b"k00",), 0.0) is not None
    assert store.get((b"k01",), 0.0) is None  # the least recently used went first
    assert len(store.entries) == 10
    # One answer may not take more than an eighth of the store.
    huge = (b"huge",)
    assert not store.put(huge, _entry(huge, (), b"x" * (one * 2)), store.begin())


def test_an_answer_expires_when_time_alone_changes_it() -> None:
    store = ResponseStore(max_bytes=1 << 20)
    key = (b"k",)
    entry = Entry(200, (), b"x", None, (), entry_size(key, (), b"x"), expires=100.0)
    assert store.put(key, entry, store.begin())
    assert store.get(key, 99.9) is entry
    assert store.get(key, 100.0) is None
    assert store.bytes == 0


def test_notification_payloads_name_their_tags() -> None:
    assert parse("p:1,2,30") == ["p:1", "p:2", "p:30"]
    assert parse("g:*") == ["g:*"]
    assert parse("*") == [EVERYTHING]
    assert parse("garbage") == [EVERYTHING]  # not ours to read: assume the worst
