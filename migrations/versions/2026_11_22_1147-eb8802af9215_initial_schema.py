"""Initial schema: categories, packages, grids, features, elements, API tokens.

Revision ID: eb8802af9215
Revises:
Create Date: 2026-11-22 11:47:11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "eb8802af9215"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Literal types, not the app's: a migration must keep meaning what it meant when written.
Timestamp = sa.DateTime(timezone=True)
JSONList = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("modified", Timestamp, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("last_used", Timestamp, nullable=True),
        sa.Column("revoked", Timestamp, nullable=True),
        sa.CheckConstraint("scope IN ('write', 'admin')", name=op.f("ck_api_tokens_scope")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_tokens_digest")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
    )
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(50), nullable=False),
        sa.Column("slug", sa.String(50), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("title_plural", sa.String(50), nullable=False),
        sa.Column("show_pypi", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("slug", name=op.f("uq_categories_slug")),
    )
    op.create_index(op.f("ix_categories_title_id"), "categories", ["title", "id"])

    op.create_table(
        "grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("is_locked", sa.Boolean(), nullable=False),
        sa.Column("header", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("slug", name=op.f("uq_grids_slug")),
    )
    op.create_index(op.f("ix_grids_title_id"), "grids", ["title", "id"])

    op.create_table(
        "features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_features_grid_id_grids"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_features")),
    )
    op.create_index(op.f("ix_features_grid_id"), "features", ["grid_id"])

    op.create_table(
        "packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("repo_url", sa.String(255), nullable=True),
        sa.Column("repo_host", sa.String(20), nullable=False),
        sa.Column("repo_description", sa.Text(), nullable=False),
        sa.Column("repo_watchers", sa.Integer(), nullable=False),
        sa.Column("repo_forks", sa.Integer(), nullable=False),
        sa.Column("participants", JSONList, nullable=False),
        sa.Column("commits_over_52", JSONList, nullable=False),
        sa.Column("last_updated", Timestamp, nullable=True),
        sa.Column("last_fetched", Timestamp, nullable=True),
        sa.Column("pypi_url", sa.String(255), nullable=False),
        sa.Column("pypi_version", sa.String(100), nullable=True),
        sa.Column("documentation_url", sa.String(255), nullable=False),
        sa.Column("pypi_license", sa.String(255), nullable=True),
        sa.Column("pypi_requires_python", sa.String(100), nullable=True),
        sa.Column("pypi_classifiers", JSONList, nullable=False),
        sa.Column("supports_python3", sa.Boolean(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("date_deprecated", Timestamp, nullable=True),
        sa.Column("date_repo_archived", Timestamp, nullable=True),
        sa.Column("deprecated_by_id", sa.Integer(), nullable=True),
        sa.Column("refresh_error", sa.Text(), nullable=False),
        sa.Column("refresh_error_at", Timestamp, nullable=True),
        sa.Column("refresh_failures", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "repo_host IN ('github', 'gitlab', 'bitbucket', 'forgejo', '')",
            name=op.f("ck_packages_repo_host"),
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_packages_category_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["deprecated_by_id"],
            ["packages.id"],
            name=op.f("fk_packages_deprecated_by_id_packages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sa.UniqueConstraint("repo_url", name=op.f("uq_packages_repo_url")),
        sa.UniqueConstraint("slug", name=op.f("uq_packages_slug")),
    )
    for columns in (
        ["category_id", "id"],
        ["repo_host", "id"],
        ["title", "id"],
        ["repo_watchers", "id"],
        ["repo_forks", "id"],
        ["last_updated", "id"],
        ["score", "id"],
        ["last_fetched"],
        ["deprecated_by_id"],
    ):
        op.create_index(op.f(f"ix_packages_{'_'.join(columns)}"), "packages", columns)

    op.create_table(
        "grid_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["grids.id"],
            name=op.f("fk_grid_packages_grid_id_grids"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_grid_packages_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_packages")),
        sa.UniqueConstraint(
            "grid_id", "package_id", name=op.f("uq_grid_packages_grid_id_package_id")
        ),
    )
    op.create_index(
        op.f("ix_grid_packages_package_id_grid_id"), "grid_packages", ["package_id", "grid_id"]
    )

    op.create_table(
        "elements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_package_id", sa.Integer(), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["feature_id"],
            ["features.id"],
            name=op.f("fk_elements_feature_id_features"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grid_package_id"],
            ["grid_packages.id"],
            name=op.f("fk_elements_grid_package_id_grid_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elements")),
        sa.UniqueConstraint(
            "grid_package_id", "feature_id", name=op.f("uq_elements_grid_package_id_feature_id")
        ),
    )
    op.create_index(op.f("ix_elements_feature_id"), "elements", ["feature_id"])


def downgrade() -> None:
    # Dependents first; dropping a table drops its indexes on both dialects.
    for table in ("elements", "grid_packages", "packages", "features", "grids", "categories"):
        op.drop_table(table)
    op.drop_table("api_tokens")
