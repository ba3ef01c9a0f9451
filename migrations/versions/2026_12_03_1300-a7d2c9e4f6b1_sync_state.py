"""`packages-api sync`'s position per source: the last change-feed seq applied, and when
the last full import ran. A new table: no rebuild, no trigger touched on SQLite.

Revision ID: a7d2c9e4f6b1
Revises: f3c9a1d7b5e2
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7d2c9e4f6b1"
down_revision: str | None = "f3c9a1d7b5e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("source", sa.String(2000), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_full_import_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("sync_state")
