"""The read cache's triggers: every write tells every worker what it touched.

Each worker keeps rendered answers (app.cache) and must forget one the moment a write
changes it, whoever writes: the API, the importer's bulk INSERTs, the refresher's Core
UPDATEs, `search rebuild`, raw SQL. So the database says it, in the writing transaction:
a package, grid or category row is `p:<id>`, `g:<id>`, `c:<id>`; a grid's memberships,
features and cells are its grid's (and a membership its package's too); search data is
`s:*`.

PostgreSQL: statement triggers NOTIFY `packages_api_cache` with `p:1,2,3`, or `p:*` when a
statement touched more than 100 rows; the notification is delivered at commit, in commit
order, and not at all on rollback. Transition tables cannot serve a trigger on several
events, hence three triggers (insert, update, delete) and one for TRUNCATE per table.

SQLite: row triggers give each tag the next version in `cache_versions`; a worker reads
the versions past the last one it saw when `PRAGMA data_version` says another connection
committed (app/cache/sqlite.py).

Revision ID: c4f8a2e6b9d1
Revises: a7d2c9e4f6b1
Create Date: 2026-12-03 15:00:00
"""

# DDL assembled from this file's constants; nothing here comes from outside.
# ruff: noqa: S608

from collections.abc import Sequence

from alembic import op

revision: str = "c4f8a2e6b9d1"
down_revision: str | None = "a7d2c9e4f6b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "packages_api_cache"
# Per table: (tag prefix, the row's id for it). "*": the prefix's every tag. A parenthesised
# expression reads another table (a cell's grid is its feature's).
TAGS: dict[str, list[tuple[str, str]]] = {
    "packages": [("p", "id")],
    "grids": [("g", "id")],
    "categories": [("c", "id")],
    "grid_packages": [("g", "grid_id"), ("p", "package_id")],
    "features": [("g", "grid_id")],
    "elements": [("g", "(SELECT f.grid_id FROM features f WHERE f.id = feature_id)")],
    "search_documents": [("s", "*")],
}
# Past this many ids in one statement, its notification names the prefix's every tag.
MOST_IDS = 100

PG_FUNCTION = f"""
CREATE FUNCTION packages_api_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    i int := 0;
    prefix text;
    expression text;
    source text;
    found bigint;
    ids text;
BEGIN
    WHILE i < TG_NARGS LOOP
        prefix := TG_ARGV[i];
        expression := TG_ARGV[i + 1];
        i := i + 2;
        IF TG_OP = 'TRUNCATE' OR expression = '*' THEN
            PERFORM pg_notify('{CHANNEL}', prefix || ':*');
            CONTINUE;
        END IF;
        IF left(expression, 1) <> '(' THEN
            expression := quote_ident(expression);
        END IF;
        source := CASE TG_OP
            WHEN 'INSERT' THEN format('SELECT %1$s AS k FROM new_rows', expression)
            WHEN 'DELETE' THEN format('SELECT %1$s AS k FROM old_rows', expression)
            ELSE format('SELECT %1$s AS k FROM new_rows UNION ALL SELECT %1$s FROM old_rows',
                        expression)
        END;
        EXECUTE format(
            'SELECT count(DISTINCT k), string_agg(DISTINCT k::text, '','')'
            ' FROM (SELECT k FROM (%s) s WHERE k IS NOT NULL LIMIT {MOST_IDS * 10}) l',
            source
        ) INTO found, ids;
        IF found > {MOST_IDS} THEN
            PERFORM pg_notify('{CHANNEL}', prefix || ':*');
        ELSIF found > 0 THEN
            PERFORM pg_notify('{CHANNEL}', prefix || ':' || ids);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$
"""


def _arguments(table: str) -> str:
    return ", ".join(
        f"'{part}'" for tag in TAGS[table] for part in (tag[0], tag[1].replace("'", "''"))
    )


def _upgrade_postgresql() -> None:
    op.execute(PG_FUNCTION)
    for table in TAGS:
        arguments = _arguments(table)
        for event, referencing in (
            ("insert", "REFERENCING NEW TABLE AS new_rows"),
            ("update", "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows"),
            ("delete", "REFERENCING OLD TABLE AS old_rows"),
            ("truncate", ""),
        ):
            op.execute(
                f"CREATE TRIGGER packages_api_cache_{event} AFTER {event.upper()} ON {table}"
                f" {referencing} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION packages_api_cache_notify({arguments})"
            )
    op.execute(f"SELECT pg_notify('{CHANNEL}', '*')")


def _downgrade_postgresql() -> None:
    for table in TAGS:
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER packages_api_cache_{event} ON {table}")
    op.execute("DROP FUNCTION packages_api_cache_notify()")
    op.execute(f"SELECT pg_notify('{CHANNEL}', '*')")


SQLITE_BUMP = (
    "INSERT INTO cache_versions (tag, version)"
    " VALUES ({tag}, (SELECT coalesce(max(version), 0) + 1 FROM cache_versions))"
    " ON CONFLICT (tag) DO UPDATE SET version = excluded.version;"
)


def _sqlite_tag(prefix: str, expression: str, row: str) -> str:
    if expression == "*":
        return f"'{prefix}:*'"
    if expression.startswith("("):
        value = expression.replace("feature_id", f"{row}.feature_id")
    else:
        value = f"{row}.{expression}"
    # A row whose id cannot be read (a cell whose feature is gone) names every such tag.
    return f"'{prefix}:' || coalesce({value}, '*')"


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE TABLE cache_versions (tag VARCHAR(50) NOT NULL PRIMARY KEY,"
        " version INTEGER NOT NULL)"
    )
    op.execute("CREATE INDEX ix_cache_versions_version ON cache_versions (version)")
    for table, tags in TAGS.items():
        for event, rows in (("insert", ["NEW"]), ("update", ["NEW", "OLD"]), ("delete", ["OLD"])):
            body = " ".join(
                SQLITE_BUMP.format(tag=_sqlite_tag(prefix, expression, row))
                for row in rows
                for prefix, expression in tags
            )
            op.execute(
                f"CREATE TRIGGER packages_api_cache_{table}_{event} AFTER {event.upper()}"
                f" ON {table} FOR EACH ROW BEGIN {body} END"
            )
    op.execute(SQLITE_BUMP.format(tag="'*'").rstrip(";"))


def _downgrade_sqlite() -> None:
    for table in TAGS:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER packages_api_cache_{table}_{event}")
    op.execute("DROP TABLE cache_versions")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
