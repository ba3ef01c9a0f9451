"""Search queries: ranked packages and grids in one statement, and the index repair.

The search data (`search_documents`, and `search_fts` on SQLite) is written by database
triggers (see the search migration), so it is current in every transaction; this module
only reads it, and `rebuild` asks the triggers to write every document again.

Ranking, on both databases (the weights are the constants below):
  relevance = exact title/slug match (1.0)
            + text rank (PostgreSQL ts_rank over weights A title, B slug, C description,
              D category and participants; SQLite bm25 scaled into 0..1)
            + 0.3 x trigram similarity of the compacted title or slug to the query
            + 0.5 x weight / 100 (popularity)
Candidates: full-text matches on names and on the whole document (each capped at the
CANDIDATES most popular, so a word found in 90% of rows costs the same as a rare one; on
PostgreSQL the whole document is searched only when the names found fewer than that),
prefix matches of a single word on names, exact title/slug matches, and, only when those
found nothing, trigram matches (typos).
"""

# The SQL is assembled from this module's constant fragments; every value a client sends
# is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, bindparam, text

from app.columns import UTCDateTime
from app.errors import InvalidQuery
from app.models import Category
from app.pagination import PageRequest
from app.repositories.base import Repository, filter_value, resolve_filter
from app.repositories.filters import FactFilters

MAX_QUERY_LENGTH = 200
ITEM_TYPES = ("package", "grid")
# Each full-text source ranks at most this many of its most popular matches.
CANDIDATES = 200
# Typos: pg_trgm's default similarity threshold, on both databases.
SIMILARITY_THRESHOLD = 0.3
# Longer keys are no typo of a name (names are at most 100 characters, most under 30).
MAX_FUZZY_LENGTH = 64
EXACT_BOOST = 1.0
SIMILARITY_BOOST = 0.3
POPULARITY_BOOST = 0.5

# Words as both databases' tokenizers see them: letters and digits of any script.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What a `q` asks for, parsed once for both dialects."""

    text: str  # for websearch_to_tsquery (quotes, OR and -word keep their meaning there)
    words: list[str]  # lowercased words
    key: str  # the words run together: compared with the compacted title and slug
    prefix: str | None  # a single word typed so far ("djang")
    fuzzy_key: str  # the key without a leading "django", for typo lookups
    trigrams: list[str] = field(default_factory=list)  # of fuzzy_key, padded as pg_trgm does


def parse_query(raw: str | None) -> SearchQuery | None:
    """The query, or None when it has nothing to search for (empty, punctuation only)."""
    # The limit counts what was sent, as the document's maxLength does.
    if len(raw or "") > MAX_QUERY_LENGTH:
        raise InvalidQuery("q", f"is {len(raw or '')} characters long; at most {MAX_QUERY_LENGTH}")
    value = (raw or "").strip()
    if "\x00" in value:
        raise InvalidQuery("q", "must not contain NUL characters (\\u0000)")
    words = [word.lower() for word in _WORD.findall(value)]
    if not words:
        return None
    key = "".join(words)
    prefix = words[0] if len(words) == 1 and len(words[0]) >= 2 else None
    fuzzy_key = _unprefixed(key)
    trigrams: list[str] = []
    if 3 <= len(fuzzy_key) <= MAX_FUZZY_LENGTH:
        padded = f"  {fuzzy_key} "
        trigrams = sorted({padded[i : i + 3] for i in range(len(padded) - 2)})
    return SearchQuery(value, words, key, prefix, fuzzy_key, trigrams)


def _unprefixed(key: str) -> str:
    """The migration's search_unprefixed(): "djangorestframwork" is looked up as
    "restframwork", since "django" begins most names (djangopackages' remove_prefix)."""
    return key.removeprefix("django")


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    item_type: str
    title: str
    slug: str
    description: str
    category: str
    repo_watchers: int
    repo_forks: int
    score: int
    weight: int
    participants: str
    last_committed: Any
    last_released: Any
    created: Any
    modified: Any


_RESULT_TYPES: dict[str, Any] = {
    "id": Integer(),
    "item_type": String(),
    "title": String(),
    "slug": String(),
    "description": String(),
    "category": String(),
    "repo_watchers": Integer(),
    "repo_forks": Integer(),
    "score": Integer(),
    "weight": Integer(),
    "participants": String(),
    "last_committed": UTCDateTime(),
    "last_released": UTCDateTime(),
    "created": UTCDateTime(),
    "modified": UTCDateTime(),
    "total": Integer(),
}
_OUTPUT = (
    "d.item_id AS id, d.item_type, d.title, d.slug, d.description, d.category,"
    " d.repo_watchers, d.repo_forks, d.score, d.participants, d.last_committed,"
    " d.last_released, d.created, d.modified"
)
_ORDER = "relevance DESC, weight DESC, title, item_type, id"


def _weight(now_minus: str) -> str:
    """Popularity 0-100: stored points plus the rules that depend on today's date
    (djangopackages' LastUpdatedRule and RecentReleaseRule), normalized over the seven
    rules' 140 points as calc_package_weight does. Grids store their weight as is."""
    return (
        "CASE WHEN d.item_type = 'grid' THEN d.popularity ELSE (d.popularity"
        f" + CASE WHEN d.last_committed > {now_minus.format(days=90)} THEN 20"
        f" WHEN d.last_committed > {now_minus.format(days=182)} THEN 10"
        f" WHEN d.last_committed > {now_minus.format(days=365)} THEN 5 ELSE 0 END"
        f" + CASE WHEN d.last_released > {now_minus.format(days=365)} THEN 20 ELSE 0 END"
        ") * 100 / 140 END"
    )


_EXACT = "(d.title_key = :key OR d.slug_key = :key)"


def _relevance(text_rank: str, similarity: str) -> str:
    return (
        f"CASE WHEN exact THEN {EXACT_BOOST} ELSE 0 END + {text_rank}"
        f" + {SIMILARITY_BOOST} * {similarity} + {POPULARITY_BOOST} * weight / 100.0"
    )


def _postgresql_sql(query: SearchQuery, filters: str, fuzzy: bool) -> str:
    fts = "websearch_to_tsquery('english', :q)"
    pre = "to_tsquery('simple', :prefix)"
    named = (
        f"SELECT d.item_type, d.item_id FROM search_documents d WHERE d.names @@ {fts}"
        f"{filters} ORDER BY d.popularity DESC LIMIT :cap"
    )
    branches = [
        "SELECT * FROM named",
        # Whole documents only when the names fall short of the cap. A word in a few percent
        # of rows has thousands of document matches, and ranking them by popularity reads
        # every one of their rows (GIN cannot order): most of a query's time at 1,000,000
        # rows. Name matches rank above description-only ones (weights A/B against C/D),
        # so when the names fill the cap, the document matches could only follow them.
        f"SELECT d.item_type, d.item_id FROM search_documents d"
        f" WHERE (SELECT count(*) FROM named) < :cap AND d.document @@ {fts}"
        f"{filters} ORDER BY d.popularity DESC LIMIT :cap",
        f"SELECT d.item_type, d.item_id FROM search_documents d WHERE {_EXACT}{filters}",
    ]
    text_rank = f"ts_rank(d.document, {fts})"
    if query.prefix is not None:
        branches.append(
            f"SELECT d.item_type, d.item_id FROM search_documents d WHERE d.names @@ {pre}"
            f"{filters} ORDER BY d.popularity DESC LIMIT :cap"
        )
        text_rank = f"greatest({text_rank}, ts_rank(d.document, {pre}))"
    similarity = "greatest(similarity(d.title_key, :key), similarity(d.slug_key, :key))"
    found = "SELECT * FROM hits"
    fuzzy_cte = ""
    if fuzzy:
        # `%` is pg_trgm's similarity operator (GIN-indexed). The gate is evaluated once:
        # when the words found anything, the trigram lookup never runs.
        fuzzy_cte = (
            ", fuzzy AS (SELECT d.item_type, d.item_id FROM search_documents d"
            " WHERE NOT EXISTS (SELECT FROM hits)"
            f" AND search_fuzzy(d.title_key, d.slug_key) % :fuzzy_key{filters}"
            " ORDER BY similarity(search_fuzzy(d.title_key, d.slug_key), :fuzzy_key) DESC"
            " LIMIT :cap)"
        )
        found += " UNION SELECT * FROM fuzzy"
    union = " UNION ".join(f"({branch})" for branch in branches)
    now_minus = "now() - interval '{days} days'"
    return (
        f"WITH named AS MATERIALIZED ({named}), hits AS ({union}){fuzzy_cte},"
        f" found AS ({found}),"
        f" ranked AS (SELECT {_OUTPUT}, {_weight(now_minus)} AS weight,"
        f" {_EXACT} AS exact, {text_rank} AS text_rank, {similarity} AS similarity"
        " FROM found JOIN search_documents d USING (item_type, item_id))"
        " SELECT *, count(*) OVER () AS total,"
        f" {_relevance('text_rank', 'similarity')} AS relevance"
        f" FROM ranked ORDER BY {_ORDER} LIMIT :limit OFFSET :offset"
    )


def _fts5_match(query: SearchQuery) -> str:
    """An FTS5 MATCH expression: every word (implicit AND), each quoted so no word is
    read as an operator; a single word also matches names that start with it."""
    words = " ".join(f'"{word}"' for word in query.words)
    if query.prefix is not None:
        return f'({words}) OR ({{title slug}} : "{query.prefix}"*)'
    return words


def _sqlite_similarity(column: str, count: int) -> str:
    """pg_trgm's similarity in plain SQL: shared trigrams / (ours + theirs - shared)."""
    if count == 0:
        return "0.0"
    padded = f"'  ' || {column} || ' '"
    shared = " + ".join(f"(instr({padded}, :t{i}) > 0)" for i in range(count))
    return f"(({shared}) * 1.0 / ({count} + length({column}) + 1 - ({shared})))"


def _sqlite_sql(query: SearchQuery, filters: str, fuzzy: bool) -> str:
    count = len(query.trigrams)
    unprefixed = "CASE WHEN {0} LIKE 'django%' THEN substr({0}, 7) ELSE {0} END"
    similarity = (
        f"max({_sqlite_similarity(unprefixed.format('d.title_key'), count)},"
        f" {_sqlite_similarity(unprefixed.format('d.slug_key'), count)})"
    )
    hits = (
        "SELECT d.id FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid"
        f" WHERE search_fts MATCH :match{filters}"
        f" UNION SELECT d.id FROM search_documents d WHERE {_EXACT}{filters}"
    )
    found = "SELECT id FROM hits"
    fuzzy_cte = ""
    if fuzzy:
        # SQLite has no trigram index: a scan, run only when the other sources fall short.
        fuzzy_cte = (
            ", fuzzy AS (SELECT d.id FROM search_documents d"
            f" WHERE NOT EXISTS (SELECT 1 FROM hits) AND {similarity} >= :threshold"
            f"{filters})"
        )
        found += " UNION SELECT id FROM fuzzy"
    # bm25 is negative, better when lower; b / (b + 5) maps it into 0..1. Its IDF is
    # clamped to ~0 for a word in over half the rows, so on its own it cannot tell a name
    # from a description: every word found in the title or slug is worth what ts_rank's
    # weight A gives on PostgreSQL.
    in_names = " AND ".join(
        f"instr(d.title_key || ' ' || d.slug_key, :w{i}) > 0" for i in range(len(query.words))
    )
    text_rank = (
        f"CASE WHEN {in_names} THEN 0.6 ELSE 0.0 END + 0.4 * coalesce(r.b / (r.b + 5.0), 0.0)"
    )
    ranks = (
        "SELECT rowid AS id, -bm25(search_fts, 10.0, 4.0, 2.0, 1.0, 1.0) AS b"
        " FROM search_fts WHERE search_fts MATCH :match"
    )
    now_minus = "strftime('%Y-%m-%d %H:%M:%f', 'now', '-{days} days')"
    return (
        f"WITH hits AS ({hits}){fuzzy_cte}, found AS ({found}), ranks AS ({ranks}),"
        f" ranked AS (SELECT {_OUTPUT}, {_weight(now_minus)} AS weight,"
        f" {_EXACT} AS exact, {text_rank} AS text_rank,"
        f" {similarity} AS similarity"
        " FROM found JOIN search_documents d ON d.id = found.id"
        " LEFT JOIN ranks r ON r.id = d.id)"
        " SELECT *, count(*) OVER () AS total,"
        f" {_relevance('text_rank', 'similarity')} AS relevance"
        f" FROM ranked ORDER BY {_ORDER} LIMIT :limit OFFSET :offset"
    )


class SearchRepository(Repository):
    async def search(
        self,
        raw_query: str | None,
        page: PageRequest,
        *,
        item_type: str | None = None,
        category: str | None = None,
        facts: FactFilters | None = None,
    ) -> tuple[int, Sequence[SearchHit]]:
        """(how many hits there are, this page of them, best first)."""
        query = parse_query(raw_query)
        # Exactly one of the documented values, or blank (no filter).
        item_type, category = item_type or None, filter_value(category)
        if item_type is not None and item_type not in ITEM_TYPES:
            raise InvalidQuery("item_type", f"unknown type {item_type!r}; choose package or grid")
        params: dict[str, Any] = {
            "key": query.key if query else "",
            "fuzzy_key": query.fuzzy_key if query else "",
            "cap": CANDIDATES,
            "limit": page.limit,
            "offset": page.offset,
        }
        filters = ""
        if item_type is not None:
            filters += " AND d.item_type = :item_type"
            params["item_type"] = item_type
        if category is not None:
            params["category_id"] = await resolve_filter(
                self.session, Category, category, "category"
            )
            filters += " AND d.category_id = :category_id"
        typed: list[Any] = []
        if facts:
            sql, fact_params = facts.sql("d.item_id")
            filters += f" AND d.item_type = 'package'{sql}"
            params.update(fact_params)
            typed = [
                bindparam(name, type_=UTCDateTime())
                for name, value in fact_params.items()
                if isinstance(value, dt.datetime)
            ]
        if query is None:
            return 0, []
        fuzzy = bool(query.trigrams)
        if self.session.get_bind().dialect.name == "postgresql":
            sql = _postgresql_sql(query, filters, fuzzy)
            params["q"] = query.text
            if query.prefix is not None:
                params["prefix"] = f"{query.prefix}:*"
        else:
            sql = _sqlite_sql(query, filters, fuzzy)
            params["match"] = _fts5_match(query)
            params["threshold"] = SIMILARITY_THRESHOLD
            params.update({f"t{i}": trigram for i, trigram in enumerate(query.trigrams)})
            params.update({f"w{i}": word for i, word in enumerate(query.words)})
        statement = text(sql).bindparams(*typed).columns(**_RESULT_TYPES)
        rows = (await self.session.execute(statement, params)).mappings().all()
        if not rows and page.offset:
            # Past the last page the window count went with the rows: the first row has it.
            first = await self.session.execute(statement, {**params, "limit": 1, "offset": 0})
            rows_for_count = first.mappings().all()
            return (int(rows_for_count[0]["total"]) if rows_for_count else 0), []
        total = int(rows[0]["total"]) if rows else 0
        hits = [SearchHit(**{name: row[name] for name in SearchHit.__slots__}) for row in rows]
        return total, hits

    async def rebuild(self) -> int:
        """Write every search document again (repair); the number of documents after."""
        dialect = self.session.get_bind().dialect.name
        await self.session.execute(text("DELETE FROM search_documents"))
        # A no-op UPDATE fires each table's search trigger, which writes the document of every
        # row that has none (all of them now): the same code as every write.
        await self.session.execute(text("UPDATE packages SET id = id"))
        await self.session.execute(text("UPDATE grids SET id = id"))
        if dialect == "sqlite":
            # FTS5 rebuilds its index from search_documents, whatever state it was in.
            rebuild_fts = "INSERT INTO search_fts(search_fts) VALUES ('rebuild')"
            await self.session.execute(text(rebuild_fts))
        count = await self.session.scalar(text("SELECT count(*) FROM search_documents"))
        return int(count or 0)
