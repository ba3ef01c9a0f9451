"""Issue 18's filters and orderings as index ranges, and PEP 792's project status.

- `packages.pypi_status`, `pypi_status_reason`: the marker PyPI's Simple API serves (NULL
  until the next refresh fetches it).
- `packages.commits_last_year`, `last_activity`, `standing`: derived from the package's
  columns by app.insights.stored (the rule its answers use), each with a (column, id)
  index; `?status=` is a range of them, `?ordering=commits_last_year` reads the first.
- `package_versions(package_id, kind, version)`: the Django and Python versions each
  package supports, with a (kind, version, package_id) index for `?django=`/`?python=`.
- (pypi_last_release, id) and the category's (category_id, field, id) indexes of the two
  new orderings.

Columns are added in place (no table rebuild on SQLite, so no trigger is touched), then
every existing package's facts are computed in batches by the very code writes use.

Revision ID: b1e5f7a9c3d2
Revises: c4f8a2e6b9d1
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1e5f7a9c3d2"
down_revision: str | None = "c4f8a2e6b9d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
_INDEXED = (
    ("pypi_last_release", "id"),
    ("commits_last_year", "id"),
    ("last_activity", "standing", "id"),
    ("standing", "id"),
    ("category_id", "pypi_last_release", "id"),
    ("category_id", "commits_last_year", "id"),
)


def _index_name(columns: Sequence[str]) -> str:
    return "ix_packages_" + "_".join(columns)


def upgrade() -> None:
    # Imported here: the rule as it is when the revision runs, as every write applies it.
    from app.columns import JSONType, UTCDateTime
    from app.repositories.facts import facts_of

    op.add_column("packages", sa.Column("pypi_status", sa.String(20), nullable=True))
    op.add_column("packages", sa.Column("pypi_status_reason", sa.Text(), nullable=True))
    op.add_column("packages", sa.Column("commits_last_year", sa.Integer(), nullable=True))
    op.add_column("packages", sa.Column("last_activity", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "packages",
        sa.Column("standing", sa.String(10), nullable=False, server_default=sa.text("''")),
    )
    op.create_table(
        "package_versions",
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("version", sa.String(10), nullable=False),
        sa.CheckConstraint(
            "kind IN ('django', 'python', 'python_any')", name=op.f("ck_package_versions_kind")
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_package_versions_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("package_id", "kind", "version", name=op.f("pk_package_versions")),
    )
    op.create_index(
        op.f("ix_package_versions_kind_version_package_id"),
        "package_versions",
        ["kind", "version", "package_id"],
    )

    packages = sa.table(
        "packages",
        sa.column("id", sa.Integer()),
        sa.column("pypi_classifiers", JSONType),
        sa.column("pypi_requires_python", sa.String()),
        sa.column("commits_over_52", JSONType),
        sa.column("last_updated", UTCDateTime()),
        sa.column("pypi_last_release", UTCDateTime()),
        sa.column("pypi_status", sa.String()),
        sa.column("date_deprecated", UTCDateTime()),
        sa.column("deprecated_by_id", sa.Integer()),
        sa.column("date_repo_archived", UTCDateTime()),
        sa.column("commits_last_year", sa.Integer()),
        sa.column("last_activity", UTCDateTime()),
        sa.column("standing", sa.String()),
    )
    versions = sa.table(
        "package_versions", sa.column("package_id"), sa.column("kind"), sa.column("version")
    )
    inputs = [c for c in packages.c if c.name not in {"commits_last_year", "last_activity"}]
    set_facts = (
        packages.update()
        .where(packages.c.id == sa.bindparam("key"))
        .values(
            commits_last_year=sa.bindparam("new_commits"),
            last_activity=sa.bindparam("new_activity", type_=UTCDateTime()),
            standing=sa.bindparam("new_standing"),
        )
    )
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(*inputs).where(packages.c.id > last).order_by(packages.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        updates = []
        inserts = []
        for row in rows:
            facts = facts_of(row)
            if (facts.commits_last_year, facts.last_activity, facts.standing) != (None, None, ""):
                updates.append(
                    {
                        "key": row.id,
                        "new_commits": facts.commits_last_year,
                        "new_activity": facts.last_activity,
                        "new_standing": facts.standing,
                    }
                )
            inserts += [
                {"package_id": row.id, "kind": kind, "version": version}
                for kind, version in facts.versions
            ]
        if updates:
            bind.execute(set_facts, updates)
        if inserts:
            bind.execute(versions.insert(), inserts)

    for columns in _INDEXED:
        op.create_index(_index_name(columns), "packages", list(columns))


def downgrade() -> None:
    for columns in reversed(_INDEXED):
        op.drop_index(_index_name(columns), table_name="packages")
    op.drop_index(
        op.f("ix_package_versions_kind_version_package_id"), table_name="package_versions"
    )
    op.drop_table("package_versions")
    for column in (
        "standing",
        "last_activity",
        "commits_last_year",
        "pypi_status_reason",
        "pypi_status",
    ):
        op.drop_column("packages", column)
