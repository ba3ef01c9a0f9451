"""The original's whole domain: null documentation URLs, long grid descriptions, shared
category slugs, and no made-up commit figures.

- `packages.documentation_url` is nullable, as the original's `URLField(null=True)` is: an
  imported null is kept and served as null.
- `grids.description` is text: 1000 characters is the original's form limit, which older
  rows exceed (features' and elements' texts were text already).
- `categories.slug` is no longer unique (two of the original's categories may share one);
  an index on (slug, id) finds the lowest id, which is what a shared slug names.
- A package never fetched (`last_fetched` NULL) that holds 52 zeros gets `[]`, what the
  original serves until it knows: 52 zeros read as "no activity", a figure nobody measured.

SQLite rebuilds the three tables (it cannot drop a NOT NULL or an inline UNIQUE), and a
rebuild drops the triggers of the table (search documents, table counts) while the
renaming checks every other trigger against a schema missing that table for a moment.
So every trigger is read from sqlite_master, dropped, and created again from the same SQL
afterwards: whatever triggers exist (other revisions' included) come back exactly as they
were. Nothing fires meanwhile: the migration is one transaction, and rows are only copied.

Downgrading refuses (and changes nothing) while categories share a slug or a grid's
description is longer than 1000 characters: the old schema cannot hold them. Null
documentation URLs become "". `[]` stays: the old schema holds it too.

Revision ID: c3a7e5d91f42
Revises: b4f1c8e2a7d3
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "c3a7e5d91f42"
down_revision: str | None = "b4f1c8e2a7d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEVER_FETCHED_ZEROS = "[" + ",".join(["0"] * 52) + "]"
# The old schema's limit on a grid's description.
OLD_DESCRIPTION_LENGTH = 1000


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


@contextmanager
def _triggers_kept() -> Iterator[None]:
    """SQLite: every trigger dropped for the rebuilds inside, then made again as it was."""
    if not _sqlite():
        yield
        return
    bind = op.get_bind()
    saved = bind.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    ).all()
    for name, _sql in saved:
        op.execute(f'DROP TRIGGER "{name}"')
    yield
    for _name, sql in saved:
        op.execute(sql)


def upgrade() -> None:
    # Batch operations are plain ALTERs on PostgreSQL, a copy of the table on SQLite.
    with _triggers_kept():
        with op.batch_alter_table("packages") as batch:
            batch.alter_column("documentation_url", existing_type=sa.String(255), nullable=True)
        with op.batch_alter_table("grids") as batch:
            batch.alter_column(
                "description",
                existing_type=sa.String(OLD_DESCRIPTION_LENGTH),
                type_=sa.Text(),
                existing_nullable=False,
            )
        with op.batch_alter_table("categories") as batch:
            batch.drop_constraint("uq_categories_slug", type_="unique")
            batch.create_index("ix_categories_slug_id", ["slug", "id"])
    # json() writes a list compactly on SQLite, whatever spacing it was stored with.
    stored = "json(commits_over_52)" if _sqlite() else "commits_over_52"
    zeros = "json(:zeros)" if _sqlite() else "CAST(:zeros AS jsonb)"
    empty = "'[]'" if _sqlite() else "'[]'::jsonb"
    op.execute(
        sa.text(
            f"UPDATE packages SET commits_over_52 = {empty}"  # noqa: S608 (constants only)
            f" WHERE last_fetched IS NULL AND {stored} = {zeros}"
        ).bindparams(zeros=NEVER_FETCHED_ZEROS)
    )


def _refuse_downgrade_if_lossy() -> None:
    bind = op.get_bind()
    shared = bind.execute(
        sa.text(
            "SELECT slug FROM categories GROUP BY slug HAVING count(*) > 1 ORDER BY slug LIMIT 10"
        )
    ).scalars()
    slugs = list(shared)
    if slugs:
        raise RuntimeError(
            "cannot downgrade: categories share the slugs "
            f"{', '.join(repr(slug) for slug in slugs)} (the old schema holds unique slugs); "
            "give each category its own slug first"
        )
    long = bind.execute(
        sa.text("SELECT id FROM grids WHERE length(description) > :limit ORDER BY id LIMIT 10"),
        {"limit": OLD_DESCRIPTION_LENGTH},
    ).scalars()
    ids = list(long)
    if ids:
        raise RuntimeError(
            f"cannot downgrade: grids {', '.join(map(str, ids))} have descriptions longer than "
            f"{OLD_DESCRIPTION_LENGTH} characters (the old schema's limit); shorten them first"
        )


def downgrade() -> None:
    _refuse_downgrade_if_lossy()
    op.execute("UPDATE packages SET documentation_url = '' WHERE documentation_url IS NULL")
    with _triggers_kept():
        with op.batch_alter_table("categories") as batch:
            batch.drop_index("ix_categories_slug_id")
            batch.create_unique_constraint("uq_categories_slug", ["slug"])
        with op.batch_alter_table("grids") as batch:
            batch.alter_column(
                "description",
                existing_type=sa.Text(),
                type_=sa.String(OLD_DESCRIPTION_LENGTH),
                existing_nullable=False,
            )
        with op.batch_alter_table("packages") as batch:
            batch.alter_column("documentation_url", existing_type=sa.String(255), nullable=False)
