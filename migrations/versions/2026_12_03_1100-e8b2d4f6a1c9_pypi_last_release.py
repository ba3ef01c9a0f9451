"""What issue 18's answers need stored: when a package's newest file was uploaded to
PyPI (its maintenance status), and the PyPI name its pypi_url names (lookup by name).

`packages.pypi_last_release` is the upload time of the newest file that is not yanked,
read from the JSON API the refresher already fetches. Nullable and added in place: no
table rebuild on SQLite, so no trigger is touched. NULL until the next refresh of each
package fetches it.

`packages.pypi_name` is the PEP 503 name of the project pypi_url names, indexed: a
lookup by name (`POST /api/v4/lookup/`) is an index lookup. Filled here for every
existing row, then written with pypi_url (API writes, import).

Revision ID: e8b2d4f6a1c9
Revises: c3a7e5d91f42
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8b2d4f6a1c9"
down_revision: str | None = "d8b2f4c6a913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BATCH = 5000


def upgrade() -> None:
    # Imported here: only this revision needs the rule, as it is when the revision runs.
    from app.insights.names import stored_pypi_name

    op.add_column(
        "packages", sa.Column("pypi_last_release", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("packages", sa.Column("pypi_name", sa.String(255), nullable=True))
    bind = op.get_bind()
    packages = sa.table("packages", sa.column("id"), sa.column("pypi_url"), sa.column("pypi_name"))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(packages.c.id, packages.c.pypi_url)
            .where(packages.c.id > last, packages.c.pypi_url != "")
            .order_by(packages.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        named = [
            {"key": row.id, "name": name}
            for row in rows
            if (name := stored_pypi_name(row.pypi_url)) is not None
        ]
        if named:
            bind.execute(
                packages.update()
                .where(packages.c.id == sa.bindparam("key"))
                .values(pypi_name=sa.bindparam("name")),
                named,
            )
    op.create_index(op.f("ix_packages_pypi_name"), "packages", ["pypi_name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_packages_pypi_name"), table_name="packages")
    op.drop_column("packages", "pypi_name")
    op.drop_column("packages", "pypi_last_release")
