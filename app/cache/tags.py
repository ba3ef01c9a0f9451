"""What a cached answer depends on, named as the database's triggers name what a write touched.

A write to a package, grid or category row (or to what hangs off it: a grid's memberships,
features and cells) tells every worker `p:<id>`, `g:<id>` or `c:<id>`, or `p:*` when one
statement touched too many rows to list. Every write also changes ANY. An answer depends on:
- the tags of the rows it shows, when it shows a few known rows (a detail, a badge, a grid's
  table): a refresher rewriting other packages leaves it cached;
- ANY, when it shows a selection or an order of rows (lists, search, feeds), since any write
  can add a row to it, take one out or reorder it;
- and, always, EVERYTHING (a migration; a worker that lost the database's notifications).
The triggers are in migration c4f8a2e6b9d1; app.cache.store applies the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from starlette.requests import Request

# Changed by every write the triggers see.
ANY: Final = "any"
# Changed by a migration, or when a worker cannot know what changed.
EVERYTHING: Final = "*"
# The channel (PostgreSQL) the triggers notify on.
CHANNEL: Final = "packages_api_cache"
# Where a route leaves its answer's tags for the middleware (request.state).
STATE_KEY: Final = "cache_tags"
# Where the request's links leave the instant from which time alone changes the answer
# (a list holding at most one aware datetime: app.insights.context.Insight.horizon).
HORIZON_STATE: Final = "cache_horizon"


def package(package_id: int) -> str:
    return f"p:{package_id}"


def grid(grid_id: int) -> str:
    return f"g:{grid_id}"


def category(category_id: int) -> str:
    return f"c:{category_id}"


def family(tag: str) -> str | None:
    """`p:*` for `p:12`: the tag a statement sends when it touched too many rows to list."""
    prefix, sep, rest = tag.partition(":")
    return f"{prefix}:*" if sep and rest != "*" else None


def parse(payload: str) -> list[str]:
    """The tags of one notification: `p:1,2,3` → p:1, p:2, p:3; `p:*` and `*` as they are."""
    if payload == EVERYTHING:
        return [EVERYTHING]
    prefix, sep, ids = payload.partition(":")
    if not sep or not prefix:
        return [EVERYTHING]  # not ours to read: assume the worst
    return [f"{prefix}:{item}" for item in ids.split(",") if item]


def cache_as(request: Request, tags: Iterable[str]) -> None:
    """Let the read cache keep this answer, forgotten when any of `tags` changes.

    A route that never calls this is never cached: an answer is kept only where its
    dependencies were written down."""
    setattr(request.state, STATE_KEY, tuple(tags))
