"""The change feed: one row per change of a package, grid or category (app/changes/), and
(modified, id) indexes for the lists' `?modified_since=`.

`seq` is assigned by the writer (max + 1 under a lock, app.changes.record), not by a
sequence: a sequence hands out numbers in the order transactions ask, not the order they
commit, so a reader could see 5 before 4 commits and skip 4 forever.

A new table: nothing is rebuilt, so no other table's triggers are touched on SQLite.

Revision ID: d8b2f4c6a913
Revises: c3a7e5d91f42
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d8b2f4c6a913"
down_revision: str | None = "d81f4b6c2e57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODIFIED_TABLES = ("packages", "grids", "categories")


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("resource", sa.String(length=20), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('created', 'updated', 'deleted')", name=op.f("ck_changes_kind")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_changes")),
    )
    # Pruning deletes by age.
    op.create_index(op.f("ix_changes_at"), "changes", ["at"])
    # ?modified_since= on the lists: a range of (modified, id), in that order.
    # It also serves the status resource's newest change (d81f4b6c2e57's `modified` index,
    # which it makes redundant).
    for table in MODIFIED_TABLES:
        op.create_index(op.f(f"ix_{table}_modified_id"), table, ["modified", "id"])
        op.drop_index(op.f(f"ix_{table}_modified"), table_name=table)


def downgrade() -> None:
    for table in MODIFIED_TABLES:
        op.create_index(op.f(f"ix_{table}_modified"), table, ["modified"])
        op.drop_index(op.f(f"ix_{table}_modified_id"), table_name=table)
    op.drop_index(op.f("ix_changes_at"), table_name="changes")
    op.drop_table("changes")
