"""Search: one document per package and grid, kept current by database triggers.

Every writer (the API, the refresher's plain UPDATEs, the importer's bulk INSERTs, raw SQL)
changes the search data in its own transaction, because the database does it: no nightly
rebuild, nothing an application can forget to call.

PostgreSQL: `search_documents` with two stored tsvectors (`names`: title A and slug B;
`document`: those plus description C, category and participants D), GIN indexes on both,
a pg_trgm GIN index on the compacted title and slug (typos), and statement-level triggers
with transition tables: one upsert per statement execution, however many rows it wrote (a
multi-row INSERT or UPDATE, COPY). An executemany is not one statement: asyncpg executes
it once per parameter set, so the triggers run once per row there.
Needs the pg_trgm extension (trusted since PostgreSQL 13: a database owner may create it).

SQLite: the same table without the vectors, an external-content FTS5 table `search_fts`
(porter stemming, diacritics removed, prefix indexes) and row triggers.

Updates re-index only rows whose searchable columns (PACKAGE_FIELDS, GRID_FIELDS, a
membership's grid, a category's title) changed, or that have no document (a repair, see
`rebuild`): the refresher's claim and release UPDATEs touch only bookkeeping columns and
do no search work. `modified` is among the fields, because hits serve it.

Popularity points are djangopackages' score rules (searchv2/rules.py, used by
searchv3/builders.py): not deprecated 20, a description 20, min(forks, 20),
min(stars, 20); the time-dependent rules (recent commit, recent release) are added when
a query ranks, so they never go stale. Grid points follow searchv3's calc_grid_weight.

Revision ID: 5e4c7d1a9b20
Revises: 5c1f0a7e9d21
Create Date: 2026-11-22 14:00:00
"""

# DDL assembled from this file's constants; nothing here comes from outside.
# ruff: noqa: S608

from collections.abc import Sequence

from alembic import op

revision: str = "5e4c7d1a9b20"
down_revision: str | None = "5c1f0a7e9d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns written by both dialects' triggers, in this order.
COLUMNS = (
    "item_type, item_id, title, slug, description, category, category_id, participants,"
    " repo_watchers, repo_forks, score, popularity, last_committed, last_released,"
    " created, modified, title_key, slug_key"
)
UPDATED = [
    column.strip()
    for column in COLUMNS.split(",")
    if column.strip() not in {"item_type", "item_id"}
]


# The package and grid columns a document is made of (hits serve created and modified).
PACKAGE_FIELDS = (
    "title",
    "slug",
    "repo_description",
    "category_id",
    "participants",
    "repo_watchers",
    "repo_forks",
    "score",
    "date_deprecated",
    "deprecated_by_id",
    "last_updated",
    "created",
    "modified",
)
GRID_FIELDS = ("title", "slug", "description", "is_locked", "header", "created", "modified")


def _upsert_set(extra: Sequence[str] = ()) -> str:
    return ", ".join(f"{column} = excluded.{column}" for column in [*UPDATED, *extra])


# --- PostgreSQL --------------------------------------------------------------------------

PG_TABLE = """
CREATE TABLE search_documents (
    item_type varchar(10) NOT NULL,
    item_id integer NOT NULL,
    title varchar(100) NOT NULL,
    slug varchar(100) NOT NULL,
    description text NOT NULL,
    category varchar(50) NOT NULL,
    category_id integer,
    participants text NOT NULL,
    repo_watchers integer NOT NULL,
    repo_forks integer NOT NULL,
    score integer NOT NULL,
    popularity integer NOT NULL,
    last_committed timestamptz,
    last_released timestamptz,
    created timestamptz NOT NULL,
    modified timestamptz NOT NULL,
    title_key text NOT NULL,
    slug_key text NOT NULL,
    names tsvector NOT NULL,
    document tsvector NOT NULL,
    CONSTRAINT pk_search_documents PRIMARY KEY (item_type, item_id),
    CONSTRAINT ck_search_documents_item_type CHECK (item_type IN ('package', 'grid'))
)
"""

# fastupdate off: a GIN index's pending list makes writes cheaper but every search scan it
# linearly until VACUUM; with triggers writing on every package update, searches would
# slow down between vacuums (measured: 0.9 ms -> 24 ms for an exact title at 100,000 rows).
_GIN = "WITH (fastupdate = off)"
PG_INDEXES = [
    f"CREATE INDEX ix_search_documents_names ON search_documents USING gin (names) {_GIN}",
    f"CREATE INDEX ix_search_documents_document ON search_documents USING gin (document) {_GIN}",
    # Typos are looked up without the "django" most names start with (the original's
    # title_no_prefix/slug_no_prefix): its trigrams are in 80% of rows and tell nothing.
    # One index for title and slug: most slugs are their title's, and one GIN scan costs half.
    "CREATE INDEX ix_search_documents_fuzzy_trgm ON search_documents"
    f" USING gin (search_fuzzy(title_key, slug_key) gin_trgm_ops) {_GIN}",
    "CREATE INDEX ix_search_documents_title_key ON search_documents (title_key)",
    "CREATE INDEX ix_search_documents_slug_key ON search_documents (slug_key)",
    "CREATE INDEX ix_search_documents_popularity ON search_documents (popularity)",
    "CREATE INDEX ix_search_documents_category_id ON search_documents (category_id)",
]


def _pg_names(title: str, slug: str) -> str:
    # English stems for words ("filters" finds "filter"), simple lexemes for names and prefixes.
    return (
        f"setweight(to_tsvector('english', {title}), 'A')"
        f" || setweight(to_tsvector('simple', {title}), 'A')"
        f" || setweight(to_tsvector('english', {slug}), 'B')"
        f" || setweight(to_tsvector('simple', {slug}), 'B')"
    )


def _pg_changed(item_type: str, fields: Sequence[str]) -> str:
    """The ids an UPDATE statement changed a field of, or whose document is missing."""
    new = ", ".join(f"n.{field}" for field in fields)
    old = ", ".join(f"o.{field}" for field in fields)
    return f"""
        SELECT n.id FROM written n LEFT JOIN gone o ON o.id = n.id
        WHERE o.id IS NULL
           OR ({new}) IS DISTINCT FROM ({old})
           -- A scalar subquery: one index probe per row. As NOT EXISTS the planner, which
           -- has no statistics for transition tables, hashed all of search_documents.
           OR (SELECT true FROM search_documents d
               WHERE d.item_type = '{item_type}' AND d.item_id = n.id) IS NULL"""


PG_FUNCTIONS = [
    # Title and slug without separators or case: "REST framework" and "rest-framework" meet.
    """
CREATE FUNCTION search_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT lower(regexp_replace(value, '[^[:alnum:]]+', '', 'g')) $$
""",
    """
CREATE FUNCTION search_unprefixed(key text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN key LIKE 'django%' THEN substr(key, 7) ELSE key END $$
""",
    # Title and slug keys for typo lookups: one word when they agree, else both words.
    """
CREATE FUNCTION search_fuzzy(title_key text, slug_key text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN search_unprefixed(title_key) = search_unprefixed(slug_key)
                THEN search_unprefixed(title_key)
                ELSE search_unprefixed(title_key) || ' ' || search_unprefixed(slug_key) END
$$
""",
    f"""
CREATE FUNCTION search_index_packages(ids integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_documents ({COLUMNS}, names, document)
    SELECT 'package', p.id, p.title, p.slug, p.repo_description, c.title, p.category_id,
           people.list, p.repo_watchers, p.repo_forks, p.score,
           (CASE WHEN p.date_deprecated IS NULL AND p.deprecated_by_id IS NULL THEN 20 ELSE 0 END
            + CASE WHEN btrim(p.repo_description) <> '' THEN 20 ELSE 0 END
            + least(greatest(p.repo_forks, 0), 20)
            + least(greatest(p.repo_watchers, 0), 20)),
           p.last_updated, NULL, p.created, p.modified,
           search_key(p.title), search_key(p.slug),
           {_pg_names("p.title", "p.slug")},
           {_pg_names("p.title", "p.slug")}
           || setweight(to_tsvector('english', p.repo_description), 'C')
           || setweight(to_tsvector('english', c.title), 'D')
           || setweight(to_tsvector('english', people.list), 'D')
           || setweight(to_tsvector('simple', people.list), 'D')
    FROM unnest(ids) AS changed(id)
    JOIN packages p ON p.id = changed.id
    JOIN categories c ON c.id = p.category_id
    CROSS JOIN LATERAL (
        SELECT coalesce(string_agg(login, ',' ORDER BY position), '') AS list
        FROM jsonb_array_elements_text(p.participants) WITH ORDINALITY AS a(login, position)
    ) AS people
    ON CONFLICT (item_type, item_id) DO UPDATE SET
        {_upsert_set(["names", "document"])};
END
$$
""",
    # searchv3 calc_grid_weight with max_weight 100: lose a sixth for not locked, not a
    # header, no packages (integer arithmetic: 83, 66, 50, 33).
    f"""
CREATE FUNCTION search_index_grids(ids integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_documents ({COLUMNS}, names, document)
    SELECT 'grid', g.id, g.title, g.slug, g.description, '', NULL, '', 0, 0, 0,
           100 * (5 - (NOT g.is_locked)::int - (NOT g.header)::int
                  - (NOT EXISTS (SELECT 1 FROM grid_packages gp WHERE gp.grid_id = g.id))::int) / 6,
           NULL, NULL, g.created, g.modified,
           search_key(g.title), search_key(g.slug),
           {_pg_names("g.title", "g.slug")},
           {_pg_names("g.title", "g.slug")}
           || setweight(to_tsvector('english', g.description), 'C')
    FROM (SELECT DISTINCT unnest(ids) AS id) AS changed
    JOIN grids g ON g.id = changed.id
    ON CONFLICT (item_type, item_id) DO UPDATE SET
        {_upsert_set(["names", "document"])};
END
$$
""",
    """
CREATE FUNCTION search_packages_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_index_packages(ARRAY(SELECT id FROM written));
    RETURN NULL;
END
$$
""",
    # Updates: only rows that changed a field or lack a document.
    f"""
CREATE FUNCTION search_packages_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed integer[] := ARRAY({_pg_changed("package", PACKAGE_FIELDS)});
BEGIN
    -- Nothing else when nothing changed: even an empty upsert costs ~0.3 ms per statement.
    IF cardinality(changed) > 0 THEN
        PERFORM search_index_packages(changed);
        -- A new id is among the changed; the old one takes its document along.
        DELETE FROM search_documents WHERE item_type = 'package'
        AND item_id IN (SELECT id FROM gone EXCEPT SELECT id FROM written);
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION search_packages_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_documents
    WHERE item_type = 'package' AND item_id IN (SELECT id FROM gone);
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION search_grids_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_index_grids(ARRAY(SELECT id FROM written));
    RETURN NULL;
END
$$
""",
    f"""
CREATE FUNCTION search_grids_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed integer[] := ARRAY({_pg_changed("grid", GRID_FIELDS)});
BEGIN
    -- Nothing else when nothing changed: even an empty upsert costs ~0.3 ms per statement.
    IF cardinality(changed) > 0 THEN
        PERFORM search_index_grids(changed);
        -- A new id is among the changed; the old one takes its document along.
        DELETE FROM search_documents WHERE item_type = 'grid'
        AND item_id IN (SELECT id FROM gone EXCEPT SELECT id FROM written);
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION search_grids_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_documents WHERE item_type = 'grid' AND item_id IN (SELECT id FROM gone);
    RETURN NULL;
END
$$
""",
    # A grid's points depend on whether it has packages.
    """
CREATE FUNCTION search_memberships_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_index_grids(ARRAY(SELECT grid_id FROM written));
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION search_memberships_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_index_grids(ARRAY(SELECT grid_id FROM gone));
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION search_memberships_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_index_grids(ARRAY(
        SELECT unnest(ARRAY[n.grid_id, o.grid_id])
        FROM written n FULL JOIN gone o ON o.id = n.id
        WHERE n.grid_id IS DISTINCT FROM o.grid_id
    ));
    RETURN NULL;
END
$$
""",
    # A renamed category renames the category of its packages' documents.
    """
CREATE FUNCTION search_categories_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_index_packages(ARRAY(
        SELECT p.id FROM packages p
        JOIN written n ON n.id = p.category_id
        JOIN gone o ON o.id = n.id
        WHERE o.title IS DISTINCT FROM n.title
    ));
    RETURN NULL;
END
$$
""",
]

# (trigger, table, event, transition tables, function)
PG_TRIGGERS = [
    (
        "search_packages_insert",
        "packages",
        "INSERT",
        "NEW TABLE AS written",
        "search_packages_written",
    ),
    (
        "search_packages_update",
        "packages",
        "UPDATE",
        "NEW TABLE AS written OLD TABLE AS gone",
        "search_packages_updated",
    ),
    (
        "search_packages_delete",
        "packages",
        "DELETE",
        "OLD TABLE AS gone",
        "search_packages_deleted",
    ),
    ("search_grids_insert", "grids", "INSERT", "NEW TABLE AS written", "search_grids_written"),
    (
        "search_grids_update",
        "grids",
        "UPDATE",
        "NEW TABLE AS written OLD TABLE AS gone",
        "search_grids_updated",
    ),
    ("search_grids_delete", "grids", "DELETE", "OLD TABLE AS gone", "search_grids_deleted"),
    (
        "search_memberships_insert",
        "grid_packages",
        "INSERT",
        "NEW TABLE AS written",
        "search_memberships_written",
    ),
    (
        "search_memberships_update",
        "grid_packages",
        "UPDATE",
        "NEW TABLE AS written OLD TABLE AS gone",
        "search_memberships_moved",
    ),
    (
        "search_memberships_delete",
        "grid_packages",
        "DELETE",
        "OLD TABLE AS gone",
        "search_memberships_deleted",
    ),
    (
        "search_categories_update",
        "categories",
        "UPDATE",
        "NEW TABLE AS written OLD TABLE AS gone",
        "search_categories_renamed",
    ),
]

PG_FUNCTION_NAMES = [
    "search_categories_renamed()",
    "search_memberships_moved()",
    "search_memberships_deleted()",
    "search_memberships_written()",
    "search_grids_deleted()",
    "search_grids_updated()",
    "search_grids_written()",
    "search_packages_deleted()",
    "search_packages_updated()",
    "search_packages_written()",
    "search_index_grids(integer[])",
    "search_index_packages(integer[])",
    "search_fuzzy(text, text)",
    "search_unprefixed(text)",
    "search_key(text)",
]


def _upgrade_postgresql() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(PG_TABLE)
    for statement in PG_FUNCTIONS + PG_INDEXES:
        op.execute(statement)
    for name, table, event, transitions, function in PG_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transitions}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    # Rows that exist already (an upgrade of a filled database).
    op.execute("SELECT search_index_packages(ARRAY(SELECT id FROM packages))")
    op.execute("SELECT search_index_grids(ARRAY(SELECT id FROM grids))")


def _downgrade_postgresql() -> None:
    for name, table, *_ in PG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP TABLE IF EXISTS search_documents")  # its indexes use search_unprefixed
    for function in PG_FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    # Nothing else of ours uses it; RESTRICT (the default) keeps it if something else does.
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")


# --- SQLite ------------------------------------------------------------------------------

SQLITE_TABLE = """
CREATE TABLE search_documents (
    id INTEGER NOT NULL PRIMARY KEY,
    item_type VARCHAR(10) NOT NULL,
    item_id INTEGER NOT NULL,
    title VARCHAR(100) NOT NULL,
    slug VARCHAR(100) NOT NULL,
    description TEXT NOT NULL,
    category VARCHAR(50) NOT NULL,
    category_id INTEGER,
    participants TEXT NOT NULL,
    repo_watchers INTEGER NOT NULL,
    repo_forks INTEGER NOT NULL,
    score INTEGER NOT NULL,
    popularity INTEGER NOT NULL,
    last_committed DATETIME,
    last_released DATETIME,
    created DATETIME NOT NULL,
    modified DATETIME NOT NULL,
    title_key TEXT NOT NULL,
    slug_key TEXT NOT NULL,
    CONSTRAINT uq_search_documents_item_type_item_id UNIQUE (item_type, item_id),
    CONSTRAINT ck_search_documents_item_type CHECK (item_type IN ('package', 'grid'))
)
"""

SQLITE_INDEXES = [
    "CREATE INDEX ix_search_documents_title_key ON search_documents (title_key)",
    "CREATE INDEX ix_search_documents_slug_key ON search_documents (slug_key)",
    "CREATE INDEX ix_search_documents_category_id ON search_documents (category_id)",
]

# External content: the words live once, in search_documents; `id` is the FTS rowid (an
# INTEGER PRIMARY KEY, so VACUUM never renumbers it).
SQLITE_FTS = """
CREATE VIRTUAL TABLE search_fts USING fts5(
    title, slug, description, category, participants,
    content='search_documents', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2', prefix='2 3'
)
"""

# SQLite has no regexp_replace: the separators people put in names, then lower() (ASCII).
_SEPARATORS = [" ", "-", "_", ".", "/", ":", "(", ")", ",", "!", "?", "+", "&", "@", "#", "'", '"']


def _sqlite_key(expression: str) -> str:
    for separator in _SEPARATORS:
        quoted = separator.replace("'", "''")
        expression = f"replace({expression}, '{quoted}', '')"
    return f"lower({expression})"


_FTS_COLUMNS = "title, slug, description, category, participants"


def _fts_values(row: str) -> str:
    return ", ".join(f"{row}.{column.strip()}" for column in _FTS_COLUMNS.split(","))


def _sqlite_package_upsert(where: str) -> str:
    return f"""
    INSERT INTO search_documents ({COLUMNS})
    SELECT 'package', p.id, p.title, p.slug, p.repo_description, c.title, p.category_id,
           coalesce((SELECT group_concat(value, ',') FROM json_each(p.participants)), ''),
           p.repo_watchers, p.repo_forks, p.score,
           (CASE WHEN p.date_deprecated IS NULL AND p.deprecated_by_id IS NULL THEN 20 ELSE 0 END
            + CASE WHEN trim(p.repo_description) <> '' THEN 20 ELSE 0 END
            + min(max(p.repo_forks, 0), 20) + min(max(p.repo_watchers, 0), 20)),
           p.last_updated, NULL, p.created, p.modified,
           {_sqlite_key("p.title")}, {_sqlite_key("p.slug")}
    FROM packages p JOIN categories c ON c.id = p.category_id
    WHERE {where}
    ON CONFLICT (item_type, item_id) DO UPDATE SET {_upsert_set()};
"""


def _sqlite_grid_upsert(where: str) -> str:
    return f"""
    INSERT INTO search_documents ({COLUMNS})
    SELECT 'grid', g.id, g.title, g.slug, g.description, '', NULL, '', 0, 0, 0,
           100 * (5 - (NOT g.is_locked) - (NOT g.header)
                  - (NOT EXISTS (SELECT 1 FROM grid_packages gp WHERE gp.grid_id = g.id))) / 6,
           NULL, NULL, g.created, g.modified,
           {_sqlite_key("g.title")}, {_sqlite_key("g.slug")}
    FROM grids g
    WHERE {where}
    ON CONFLICT (item_type, item_id) DO UPDATE SET {_upsert_set()};
"""


def _sqlite_on_update(table: str, item_type: str, fields: Sequence[str], where: str) -> str:
    """A row trigger that re-indexes an updated row only if it changed a field (the column
    list alone is not enough: the refresher always sets score and modified) or has no
    document, and drops the document of an id that went."""
    changed = " OR ".join(f"OLD.{field} IS NOT NEW.{field}" for field in ("id", *fields))
    missing = (
        f"NOT EXISTS (SELECT 1 FROM search_documents"
        f" WHERE item_type = '{item_type}' AND item_id = NEW.id)"
    )
    upsert = _sqlite_package_upsert if item_type == "package" else _sqlite_grid_upsert
    return f"""AFTER UPDATE OF {", ".join(("id", *fields))} ON {table}
    WHEN {changed} OR {missing} BEGIN
    DELETE FROM search_documents
    WHERE item_type = '{item_type}' AND item_id = OLD.id AND OLD.id IS NOT NEW.id;
    {upsert(where)}
END"""


SQLITE_TRIGGERS = {
    # The FTS index follows search_documents (the documented external-content recipe).
    "search_documents_insert": f"""AFTER INSERT ON search_documents BEGIN
    INSERT INTO search_fts(rowid, {_FTS_COLUMNS}) VALUES (NEW.id, {_fts_values("NEW")});
END""",
    "search_documents_delete": f"""AFTER DELETE ON search_documents BEGIN
    INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS})
    VALUES ('delete', OLD.id, {_fts_values("OLD")});
END""",
    "search_documents_update": f"""AFTER UPDATE ON search_documents BEGIN
    INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS})
    VALUES ('delete', OLD.id, {_fts_values("OLD")});
    INSERT INTO search_fts(rowid, {_FTS_COLUMNS}) VALUES (NEW.id, {_fts_values("NEW")});
END""",
    "search_packages_insert": (
        f"AFTER INSERT ON packages BEGIN {_sqlite_package_upsert('p.id = NEW.id')} END"
    ),
    "search_packages_update": _sqlite_on_update(
        "packages", "package", PACKAGE_FIELDS, "p.id = NEW.id"
    ),
    "search_packages_delete": """AFTER DELETE ON packages BEGIN
    DELETE FROM search_documents WHERE item_type = 'package' AND item_id = OLD.id;
END""",
    "search_grids_insert": f"AFTER INSERT ON grids BEGIN {_sqlite_grid_upsert('g.id = NEW.id')} END",
    "search_grids_update": _sqlite_on_update("grids", "grid", GRID_FIELDS, "g.id = NEW.id"),
    "search_grids_delete": """AFTER DELETE ON grids BEGIN
    DELETE FROM search_documents WHERE item_type = 'grid' AND item_id = OLD.id;
END""",
    "search_memberships_insert": (
        f"AFTER INSERT ON grid_packages BEGIN {_sqlite_grid_upsert('g.id = NEW.grid_id')} END"
    ),
    "search_memberships_update": f"""AFTER UPDATE OF grid_id ON grid_packages
    WHEN OLD.grid_id IS NOT NEW.grid_id BEGIN
    {_sqlite_grid_upsert("g.id = OLD.grid_id")} {_sqlite_grid_upsert("g.id = NEW.grid_id")} END""",
    "search_memberships_delete": (
        f"AFTER DELETE ON grid_packages BEGIN {_sqlite_grid_upsert('g.id = OLD.grid_id')} END"
    ),
    "search_categories_update": """AFTER UPDATE OF title ON categories
    WHEN OLD.title IS NOT NEW.title BEGIN
    UPDATE search_documents SET category = NEW.title
    WHERE item_type = 'package' AND category_id = NEW.id;
END""",
}


def _upgrade_sqlite() -> None:
    op.execute(SQLITE_TABLE)
    for statement in [*SQLITE_INDEXES, SQLITE_FTS]:
        op.execute(statement)
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    # Rows that exist already: a no-op UPDATE runs each row's trigger (no document yet).
    op.execute("UPDATE packages SET id = id")
    op.execute("UPDATE grids SET id = id")


def _downgrade_sqlite() -> None:
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_fts")  # and its shadow tables
    op.execute("DROP TABLE IF EXISTS search_documents")


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
