"""Exact row counts of packages, grids and categories, kept by triggers.

An unfiltered list answers `count` from `table_counts` instead of COUNT(*), which reads
the whole table (a million packages: ~100 ms on PostgreSQL, every request). Triggers keep
the counts in the writing transaction itself, whoever writes (the API, the importer's
bulk INSERTs, raw SQL), so a rollback takes its changes back with it.

PostgreSQL: one row per table would be updated by every inserting transaction and stay
locked until it commits: an import (one transaction of many minutes) would hold every
API create behind it. So the statement triggers only add to transaction-local settings
(`packages_api.pending_<table>`, rolled back with a savepoint like the rows), and the
first write of a transaction queues a row in `table_count_flushes`, whose deferred
constraint trigger adds the pending changes to `table_counts` at COMMIT: a row lock held
for the commit alone. Readers add their own transaction's pending changes (see
app/repositories/counts.py). TRUNCATE sets the count to 0.

SQLite has one writer at a time: row triggers update `table_counts` directly.

Revision ID: 7a3c9e2b4d18
Revises: 5e4c7d1a9b20
Create Date: 2026-11-23 10:00:00
"""

# DDL assembled from this file's constants; nothing here comes from outside.
# ruff: noqa: S608

from collections.abc import Sequence

from alembic import op

revision: str = "7a3c9e2b4d18"
down_revision: str | None = "5e4c7d1a9b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In this order everywhere: flushing transactions lock the rows in the same order, so
# two of them never wait on each other crosswise.
TABLES = ("categories", "grids", "packages")

TABLE = """
CREATE TABLE table_counts (
    table_name varchar(50) NOT NULL,
    row_count bigint NOT NULL,
    CONSTRAINT pk_table_counts PRIMARY KEY (table_name)
)
"""

# --- PostgreSQL --------------------------------------------------------------------------

PG_QUEUE = """
CREATE TABLE table_count_flushes (
    txid bigint NOT NULL DEFAULT txid_current(),
    CONSTRAINT pk_table_count_flushes PRIMARY KEY (txid)
)
"""

PG_FUNCTIONS = [
    # This transaction's not yet flushed change of a table's count.
    """
CREATE FUNCTION table_counts_pending(name text) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(current_setting('packages_api.pending_' || name, true), '')::bigint, 0) $$
""",
    """
CREATE FUNCTION table_counts_add(name text, change bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF change = 0 THEN
        RETURN;
    END IF;
    PERFORM set_config('packages_api.pending_' || name,
                       (table_counts_pending(name) + change)::text, true);
    IF current_setting('packages_api.flush_queued', true) IS DISTINCT FROM 'yes' THEN
        INSERT INTO table_count_flushes DEFAULT VALUES ON CONFLICT DO NOTHING;
        PERFORM set_config('packages_api.flush_queued', 'yes', true);
    END IF;
END
$$
""",
    """
CREATE FUNCTION table_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM table_counts_add(TG_TABLE_NAME, (SELECT count(*) FROM written));
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION table_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM table_counts_add(TG_TABLE_NAME, -(SELECT count(*) FROM gone));
    RETURN NULL;
END
$$
""",
    # TRUNCATE holds the table exclusively until commit anyway: updating the row now
    # makes no one wait who would not have waited.
    """
CREATE FUNCTION table_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE table_counts SET row_count = 0 WHERE table_name = TG_TABLE_NAME;
    PERFORM set_config('packages_api.pending_' || TG_TABLE_NAME, '0', true);
    RETURN NULL;
END
$$
""",
    f"""
CREATE FUNCTION table_counts_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    name text;
    change bigint;
BEGIN
    FOREACH name IN ARRAY ARRAY{list(TABLES)}::text[] LOOP
        change := table_counts_pending(name);
        IF change <> 0 THEN
            UPDATE table_counts SET row_count = row_count + change WHERE table_name = name;
            PERFORM set_config('packages_api.pending_' || name, '0', true);
        END IF;
    END LOOP;
    PERFORM set_config('packages_api.flush_queued', '', true);
    DELETE FROM table_count_flushes WHERE txid = NEW.txid;
    RETURN NULL;
END
$$
""",
]

PG_FUNCTION_NAMES = [
    "table_counts_flush()",
    "table_counts_truncated()",
    "table_counts_deleted()",
    "table_counts_inserted()",
    "table_counts_add(text, bigint)",
    "table_counts_pending(text)",
]


def _upgrade_postgresql() -> None:
    op.execute(TABLE)
    op.execute(PG_QUEUE)
    for statement in PG_FUNCTIONS:
        op.execute(statement)
    op.execute(
        "CREATE CONSTRAINT TRIGGER table_counts_flush AFTER INSERT ON table_count_flushes"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION table_counts_flush()"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER table_counts_insert AFTER INSERT ON {table}"
            " REFERENCING NEW TABLE AS written"
            " FOR EACH STATEMENT EXECUTE FUNCTION table_counts_inserted()"
        )
        op.execute(
            f"CREATE TRIGGER table_counts_delete AFTER DELETE ON {table}"
            " REFERENCING OLD TABLE AS gone"
            " FOR EACH STATEMENT EXECUTE FUNCTION table_counts_deleted()"
        )
        op.execute(
            f"CREATE TRIGGER table_counts_truncate AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION table_counts_truncated()"
        )
        # CREATE TRIGGER locked out writers until this migration commits: the count is exact.
        op.execute(
            f"INSERT INTO table_counts (table_name, row_count) SELECT '{table}', count(*) FROM {table}"
        )


def _downgrade_postgresql() -> None:
    for table in TABLES:
        for event in ("insert", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS table_counts_{event} ON {table}")
    op.execute("DROP TABLE IF EXISTS table_count_flushes")  # and its trigger
    op.execute("DROP TABLE IF EXISTS table_counts")
    for function in PG_FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")


# --- SQLite ------------------------------------------------------------------------------


def _sqlite_triggers(table: str) -> dict[str, str]:
    def bump(change: str) -> str:
        return (
            f"UPDATE table_counts SET row_count = row_count {change} WHERE table_name = '{table}';"
        )

    return {
        f"table_counts_{table}_insert": f"AFTER INSERT ON {table} BEGIN {bump('+ 1')} END",
        f"table_counts_{table}_delete": f"AFTER DELETE ON {table} BEGIN {bump('- 1')} END",
    }


def _upgrade_sqlite() -> None:
    op.execute(TABLE)
    for table in TABLES:
        # Migrations run before the service serves: no writer slips in between.
        op.execute(
            f"INSERT INTO table_counts (table_name, row_count) SELECT '{table}', count(*) FROM {table}"
        )
        for name, body in _sqlite_triggers(table).items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def _downgrade_sqlite() -> None:
    for table in TABLES:
        for name in _sqlite_triggers(table):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS table_counts")


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
