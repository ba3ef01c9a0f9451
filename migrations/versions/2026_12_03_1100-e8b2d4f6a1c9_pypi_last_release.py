"""When a package's newest file was uploaded to PyPI, for its maintenance status.

`packages.pypi_last_release` is the upload time of the newest file that is not yanked,
read from the JSON API the refresher already fetches. Nullable and added in place: no
table rebuild on SQLite, so no trigger is touched. NULL until the next refresh of each
package fetches it.

Revision ID: e8b2d4f6a1c9
Revises: c3a7e5d91f42
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8b2d4f6a1c9"
down_revision: str | None = "c3a7e5d91f42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("packages", sa.Column("pypi_last_release", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("packages", "pypi_last_release")
