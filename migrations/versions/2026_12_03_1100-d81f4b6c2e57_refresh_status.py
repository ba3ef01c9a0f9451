"""The status resource's records: the refresher's runs, the forges' rate-limit budgets,
and an index on `modified` of packages, categories and grids (the newest change).

- `refresh_runs`: one row per refresh run as it ended (periodic or `packages-api refresh`),
  written by the refresher, so every worker and the CLI report the last run of any of them.
- `forge_budgets`: the rate-limit budget each upstream API host last reported, per
  resource (GitHub keeps `core` and `graphql` apart).
- `ix_*_modified`: the newest change is one index probe per table, not a scan.
- Partial indexes over the few packages each count concerns: failing (`refresh_error`
  set), with a retry time (pending or backing off), leased. Without them each count read
  the whole table: 930 ms for the status at 100,000 packages (bench/status.py).

New tables and indexes only: nothing is rebuilt on SQLite, so no trigger is touched.

Revision ID: d81f4b6c2e57
Revises: c3a7e5d91f42
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d81f4b6c2e57"
down_revision: str | None = "c3a7e5d91f42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)
JSONDict = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TIMESTAMPED = ("packages", "categories", "grids")
_PARTIAL = (
    ("ix_packages_failing", ["repo_host", "repo_url"], "refresh_error <> ''"),
    ("ix_packages_refresh_retry_at", ["refresh_retry_at"], "refresh_retry_at IS NOT NULL"),
    (
        "ix_packages_refresh_claimed_until",
        ["refresh_claimed_until"],
        "refresh_claimed_until IS NOT NULL",
    ),
)


def upgrade() -> None:
    op.create_table(
        "refresh_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(100), nullable=False),
        sa.Column("started", Timestamp, nullable=False),
        sa.Column("finished", Timestamp, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("packages", JSONDict, nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_runs")),
    )
    op.create_index(op.f("ix_refresh_runs_finished"), "refresh_runs", ["finished"])
    op.create_table(
        "forge_budgets",
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(50), nullable=False),
        sa.Column("forge", sa.String(20), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=True),
        sa.Column("resets_at", Timestamp, nullable=True),
        sa.Column("observed_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("host", "resource", name=op.f("pk_forge_budgets")),
    )
    for table in _TIMESTAMPED:
        op.create_index(op.f(f"ix_{table}_modified"), table, ["modified"])
    for name, columns, where in _PARTIAL:
        op.create_index(
            name,
            "packages",
            columns,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _columns, _where in _PARTIAL:
        op.drop_index(name, table_name="packages")
    for table in _TIMESTAMPED:
        op.drop_index(op.f(f"ix_{table}_modified"), table_name=table)
    op.drop_table("forge_budgets")
    op.drop_index(op.f("ix_refresh_runs_finished"), table_name="refresh_runs")
    op.drop_table("refresh_runs")
