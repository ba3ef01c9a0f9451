"""Packages: a (category_id, field, id) index for each ordering of the category filter.

`?category=X&ordering=-repo_watchers` walked ix_packages_repo_watchers_id and read each
row's heap page to test its category: with 40 categories, ~20 x 40 rows for a first
page, 780-1,150 buffers and 5-40 ms at 1,000,000 packages, and more the deeper the page.
With the category leading, a page (by offset or by cursor) is a range of one index.
Both dialects; `-id` already has ix_packages_category_id_id.

Revision ID: b4f1c8e2a7d3
Revises: 9d2e6f4a1c37
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b4f1c8e2a7d3"
down_revision: str | None = "9d2e6f4a1c37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As app.models.CATEGORY_ORDERINGS when this revision was written (a migration does not
# follow later changes to the model).
_FIELDS = ("title", "repo_watchers", "repo_forks", "last_updated", "score")


def upgrade() -> None:
    for field in _FIELDS:
        op.create_index(
            op.f(f"ix_packages_category_id_{field}_id"), "packages", ["category_id", field, "id"]
        )


def downgrade() -> None:
    for field in _FIELDS:
        op.drop_index(op.f(f"ix_packages_category_id_{field}_id"), table_name="packages")
