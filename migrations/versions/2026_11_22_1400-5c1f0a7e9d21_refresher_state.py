"""Refresher state on packages: stored ETags, back-off, last attempt, claim lease.

Revision ID: 5c1f0a7e9d21
Revises: eb8802af9215
Create Date: 2026-11-22 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5c1f0a7e9d21"
down_revision: str | None = "eb8802af9215"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)
JSONDict = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# Every column is nullable: SQLite adds them in place (ALTER TABLE ADD COLUMN), with no
# table rebuild that would lose triggers other migrations put on `packages`.
COLUMNS = (
    ("refresh_etags", JSONDict),
    ("refresh_pypi_etag", sa.String(255)),
    ("refresh_retry_at", Timestamp),
    ("refresh_attempted_at", Timestamp),
    ("refresh_claimed_by", sa.String(100)),
    ("refresh_claimed_until", Timestamp),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("packages", sa.Column(name, type_, nullable=True))
    # The pick query walks last_fetched in order and breaks ties by id.
    op.drop_index(op.f("ix_packages_last_fetched"), table_name="packages")
    op.create_index(op.f("ix_packages_last_fetched_id"), "packages", ["last_fetched", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_packages_last_fetched_id"), table_name="packages")
    op.create_index(op.f("ix_packages_last_fetched"), "packages", ["last_fetched"])
    for name, _type in reversed(COLUMNS):
        op.drop_column("packages", name)
