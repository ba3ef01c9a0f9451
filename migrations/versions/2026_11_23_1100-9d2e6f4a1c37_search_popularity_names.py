"""Search: the popularity index carries each document's names (PostgreSQL).

A single typed word (`re`, `djang`) asks for the 200 most popular names that start with
it, and a common word for the 200 most popular whose names contain it. Walking the old
popularity index, each step read the document's heap row to test its names: at 1,000,000
documents a two-letter prefix visited ~20,000 rows (~130 ms from a cold cache). With
item_type, item_id and names INCLUDEd, the walk is an index-only scan: the same rows in
~6 ms. It replaces ix_search_documents_popularity (same leading column, so every plan
that used that index can use this one). Names are a title and a slug of at most 100
characters each, so an entry stays far below btree's ~2.7 kB limit.

SQLite has no such scan (FTS5 ranks every match): nothing changes there.

Revision ID: 9d2e6f4a1c37
Revises: 7a3c9e2b4d18
Create Date: 2026-11-23 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9d2e6f4a1c37"
down_revision: str | None = "7a3c9e2b4d18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_search_documents_popularity_names"
            " ON search_documents (popularity) INCLUDE (item_type, item_id, names)"
        )
        op.execute("DROP INDEX IF EXISTS ix_search_documents_popularity")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_search_documents_popularity"
            " ON search_documents (popularity)"
        )
        op.execute("DROP INDEX IF EXISTS ix_search_documents_popularity_names")
