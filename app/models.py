"""SQLAlchemy models: categories, packages, grids with their features and elements, API tokens.

Relationships are lazy="raise": every query says what it loads, so an N+1 cannot creep in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.columns import Base, JSONType, UTCDateTime, utcnow

REPO_HOSTS = ("github", "gitlab", "bitbucket", "forgejo", "")
# A package's own fields of ours, beyond djangopackages' (their API and export names), and
# their values until they are set: what a package imported from the original has.
OWN_FIELDS_UNSET: dict[str, Any] = {
    "score": 0,
    "pypi_license": None,
    "pypi_requires_python": None,
    "pypi_classifiers": [],
    "supports_python3": None,
    "date_deprecated": None,
    "date_repo_archived": None,
}
# The list's orderings besides id that get a (category_id, field, id) index (migration
# b4f1c8e2a7d3); id is (category_id, id).
CATEGORY_ORDERINGS = ("title", "repo_watchers", "repo_forks", "last_updated", "score")
# Issue 18's orderings (migration b1e5f7a9c3d2), with the same (category_id, field, id)
# indexes; by the stored columns they read.
FACT_ORDERINGS = ("pypi_last_release", "commits_last_year")
# package_versions.kind: Django versions from classifiers; Python versions declared by
# classifiers (less what Requires-Python excludes); and those, or when there are none the
# versions Requires-Python admits (app.insights.stored).
VERSION_KINDS = ("django", "python", "python_any")


class TimestampMixin:
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Category(TimestampMixin, Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    # Not unique: the original lets two categories share a slug, and an import keeps both.
    # A slug names the one with the lowest id (the (slug, id) index finds it); an id is
    # always exact. The API refuses a slug another category has (app/services/origin.py).
    slug: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    title_plural: Mapped[str] = mapped_column(String(50), default="")
    show_pypi: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        Index(None, "title", "id"),
        Index(None, "slug", "id"),
        Index(None, "modified", "id"),  # ?modified_since=, and the status's newest change
    )


class Package(TimestampMixin, Base):
    __tablename__ = "packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    # RESTRICT: a category cannot be deleted while packages use it.
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    # As its writer gave it: normalized when a user sent it, the source's text when imported
    # (app/services/origin.py). NULL when the package has no repository (served as ""); many
    # NULLs coexist under the unique index.
    repo_url: Mapped[str | None] = mapped_column(String(255), unique=True)
    repo_host: Mapped[str] = mapped_column(String(20), default="")
    repo_description: Mapped[str] = mapped_column(Text, default="")
    repo_watchers: Mapped[int] = mapped_column(Integer, default=0)
    repo_forks: Mapped[int] = mapped_column(Integer, default=0)
    participants: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # [] until first fetched (never 52 made-up zeros), then 52 weekly totals, oldest first.
    commits_over_52: Mapped[list[int]] = mapped_column(JSONType, default=list)
    last_updated: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_fetched: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    pypi_url: Mapped[str] = mapped_column(String(255), default="")
    pypi_version: Mapped[str | None] = mapped_column(String(100))
    # The PEP 503 name pypi_url names (app.insights.names.stored_pypi_name), written with
    # pypi_url, so a lookup by name is an index lookup (migration 2026_12_03_1100).
    pypi_name: Mapped[str | None] = mapped_column(String(255), index=True)
    # NULL as the original's rows may hold it (and its API serves it): kept, served as null.
    documentation_url: Mapped[str | None] = mapped_column(String(255), default="")
    pypi_license: Mapped[str | None] = mapped_column(String(255))
    pypi_requires_python: Mapped[str | None] = mapped_column(String(100))
    pypi_classifiers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # When the newest file that is not yanked was uploaded to PyPI (migration 2026_12_03_1100).
    pypi_last_release: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    supports_python3: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[int] = mapped_column(Integer, default=0)
    date_deprecated: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    date_repo_archived: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deprecated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("packages.id", ondelete="SET NULL")
    )
    # Refresh bookkeeping: why the last refresh failed, when, and how many times in a row.
    refresh_error: Mapped[str] = mapped_column(Text, default="")
    refresh_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refresh_failures: Mapped[int] = mapped_column(Integer, default=0)
    # --- Refresher state (app/refresh/; migration 2026_11_22_1400) ---------------------------
    # Nullable, so the migration only adds columns (no table rebuild on SQLite, which would
    # drop other branches' triggers). ETags of the forge's resources by name, and PyPI's.
    refresh_etags: Mapped[dict[str, str] | None] = mapped_column(JSONType)
    refresh_pypi_etag: Mapped[str | None] = mapped_column(String(255))
    # No attempt before this (back-off after a failure, a statistic still computing).
    refresh_retry_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The last attempt whatever its outcome: one run never picks a package twice.
    refresh_attempted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The lease: which refresher holds the package, and until when if it dies meanwhile.
    refresh_claimed_by: Mapped[str | None] = mapped_column(String(100))
    refresh_claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # --- PEP 792 and the stored facts the list's filters read (migration b1e5f7a9c3d2) ----
    # The project status PyPI's Simple API serves ("active", "archived", "deprecated",
    # "quarantined"); NULL until fetched, or when the index serves none (api-version < 1.4).
    pypi_status: Mapped[str | None] = mapped_column(String(20))
    pypi_status_reason: Mapped[str | None] = mapped_column(Text)
    # Derived from the columns above by app.insights.stored.stored_facts and written by
    # app.repositories.facts.write_facts after every write of those inputs: what the
    # `?status=` filter and the orderings read as index ranges.
    commits_last_year: Mapped[int | None] = mapped_column(Integer)
    last_activity: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # "deprecated", "archived", or "" (the status is then the activity's, by last_activity).
    standing: Mapped[str] = mapped_column(String(10), default="", server_default=text("''"))

    # "all": the database's ON DELETE CASCADE removes memberships. With True, the ORM would
    # still set package_id to NULL on the memberships it loaded (every get() loads them).
    memberships: Mapped[list[GridPackage]] = relationship(
        back_populates="package", lazy="raise", passive_deletes="all"
    )

    __table_args__ = (
        CheckConstraint(
            "repo_host IN ('github', 'gitlab', 'bitbucket', 'forgejo', '')", name="repo_host"
        ),
        # Every filter and ordering of the list endpoint, each with id as the tie-breaker.
        Index(None, "category_id", "id"),
        Index(None, "repo_host", "id"),
        Index(None, "title", "id"),
        Index(None, "repo_watchers", "id"),
        Index(None, "repo_forks", "id"),
        Index(None, "last_updated", "id"),
        Index(None, "score", "id"),
        *(Index(None, field, "id") for field in FACT_ORDERINGS),
        Index(None, "standing", "id"),
        # `?status=`'s time statuses: ranges of last_activity with standing "", their ids
        # included, so a count (alone, or joined with a version filter's ids) is index-only;
        # a page by id reads (standing, id) in order instead.
        Index(None, "last_activity", "standing", "id"),
        # The category filter keeps a fortieth of the rows: ordered by another field, its
        # page walked that field's index testing each row's category (~800 heap reads for
        # page 1 at a million). With the category leading, a page is a range of its own.
        *(
            Index(None, "category_id", field, "id")
            for field in (*CATEGORY_ORDERINGS, *FACT_ORDERINGS)
        ),
        # The refresher's pick: least fresh first (never fetched, then oldest), id to break ties.
        Index(None, "last_fetched", "id"),
        Index(None, "deprecated_by_id"),
        Index(None, "modified", "id"),  # ?modified_since=, and the status's newest change
        # The status resource's counts, each over the few rows concerned (migration
        # d81f4b6c2e57): failing by host, pending or backing off, leased.
        Index(
            "ix_packages_failing",
            "repo_host",
            "repo_url",
            postgresql_where=text("refresh_error <> ''"),
            sqlite_where=text("refresh_error <> ''"),
        ),
        Index(
            "ix_packages_refresh_retry_at",
            "refresh_retry_at",
            postgresql_where=text("refresh_retry_at IS NOT NULL"),
            sqlite_where=text("refresh_retry_at IS NOT NULL"),
        ),
        Index(
            "ix_packages_refresh_claimed_until",
            "refresh_claimed_until",
            postgresql_where=text("refresh_claimed_until IS NOT NULL"),
            sqlite_where=text("refresh_claimed_until IS NOT NULL"),
        ),
    )

    @property
    def grid_ids(self) -> list[int]:
        return sorted(membership.grid_id for membership in self.memberships)


class PackageVersion(Base):
    """One Django or Python version a package supports, as app.insights.stored derives it
    from the package's PyPI metadata: `?django=` and `?python=` are lookups of the
    (kind, version, package_id) index. Written only by app.repositories.facts."""

    __tablename__ = "package_versions"

    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    version: Mapped[str] = mapped_column(String(10), primary_key=True)

    __table_args__ = (
        CheckConstraint("kind IN ('django', 'python', 'python_any')", name="kind"),
        Index(None, "kind", "version", "package_id"),
    )


class Grid(TimestampMixin, Base):
    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    # Text: 1000 characters is the original's form limit, which older rows exceed.
    description: Mapped[str] = mapped_column(Text, default="")
    is_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    header: Mapped[bool] = mapped_column(Boolean, default=False)

    memberships: Mapped[list[GridPackage]] = relationship(
        back_populates="grid", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )
    features: Mapped[list[Feature]] = relationship(
        back_populates="grid", lazy="raise", passive_deletes=True, order_by="Feature.id"
    )

    __table_args__ = (Index(None, "title", "id"), Index(None, "modified", "id"))

    @property
    def package_ids(self) -> list[int]:
        return sorted(membership.package_id for membership in self.memberships)


class GridPackage(Base):
    """A package's place in a grid; the comparison table's columns."""

    __tablename__ = "grid_packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"))
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    grid: Mapped[Grid] = relationship(back_populates="memberships", lazy="raise")
    package: Mapped[Package] = relationship(back_populates="memberships", lazy="raise")
    elements: Mapped[list[Element]] = relationship(
        back_populates="membership", lazy="raise", passive_deletes=True
    )

    __table_args__ = (
        UniqueConstraint("grid_id", "package_id"),
        Index(None, "package_id", "grid_id"),
    )


class Feature(TimestampMixin, Base):
    """A row of a grid's comparison table."""

    __tablename__ = "features"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")

    grid: Mapped[Grid] = relationship(back_populates="features", lazy="raise")
    elements: Mapped[list[Element]] = relationship(
        back_populates="feature", lazy="raise", passive_deletes=True
    )


class Element(TimestampMixin, Base):
    """One cell of a comparison table: what a package offers for a feature."""

    __tablename__ = "elements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_package_id: Mapped[int] = mapped_column(ForeignKey("grid_packages.id", ondelete="CASCADE"))
    feature_id: Mapped[int] = mapped_column(
        ForeignKey("features.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text, default="")

    membership: Mapped[GridPackage] = relationship(back_populates="elements", lazy="raise")
    feature: Mapped[Feature] = relationship(back_populates="elements", lazy="raise")

    __table_args__ = (UniqueConstraint("grid_package_id", "feature_id"),)


class ApiToken(Base):
    """A bearer token for writes. Only a SHA-256 digest is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("scope IN ('write', 'admin')", name="scope"),)


class RefreshRun(Base):
    """One refresh run as it ended (periodic or `packages-api refresh`), for the status
    resource: every worker and the CLI read what any of them last did. Only the newest
    RUNS_KEPT rows are kept."""

    __tablename__ = "refresh_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker: Mapped[str] = mapped_column(String(100))  # the refresher's owner name
    started: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    # "ok", "failed" (the run could not go on) or "interrupted" (stopped midway).
    outcome: Mapped[str] = mapped_column(String(20))
    # Packages by their outcome ("refreshed", "unchanged", "pending", "failed", "skipped").
    packages: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    failure: Mapped[str] = mapped_column(Text, default="")


class ForgeBudget(Base):
    """The rate-limit budget an upstream last reported (its x-ratelimit-* or ratelimit-*
    headers), one row per API host and resource (GitHub keeps `core` and `graphql` apart),
    written by whichever refresher saw it last."""

    __tablename__ = "forge_budgets"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(50), primary_key=True)  # "" when unnamed
    forge: Mapped[str] = mapped_column(String(20))
    remaining: Mapped[int] = mapped_column(Integer)
    limit: Mapped[int | None] = mapped_column(Integer)
    resets_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    observed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


CHANGE_KINDS = ("created", "updated", "deleted")


class Change(Base):
    """One event of the change feed (app/changes/): what changed, when, in commit order.

    `seq` is assigned at commit, max + 1 under a lock (app.changes.record), so readers see
    the events in seq order with no gaps; a sequence would give numbers in the order
    transactions asked, not the order they committed.
    """

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    resource: Mapped[str] = mapped_column(String(20))
    resource_id: Mapped[int] = mapped_column(Integer)
    # The resource's fields that changed, by their served names.
    fields: Mapped[list[str]] = mapped_column(JSONType)

    __table_args__ = (CheckConstraint("kind IN ('created', 'updated', 'deleted')", name="kind"),)


class Subscription(Base):
    """An outgoing webhook (app/webhooks/): where to POST the change events that match
    `events` and the optional grid or category filter, signed with `secret`.

    `cursor` is the seq of the last change this subscription is done with (delivered or
    not matching): deliveries go in seq order, one at a time, so a receiver sees them in
    the order the feed has them.
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # "packages.updated", "grids.*", "*.deleted", "*": resource.kind patterns.
    events: Mapped[list[str]] = mapped_column(JSONType)
    grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("grids.id", ondelete="SET NULL"), nullable=True
    )
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), nullable=True
    )
    secret: Mapped[str] = mapped_column(String(200))
    # The base of the events' hyperlinks: PUBLIC_BASE_URL, else the one it was created at.
    base_url: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """One change delivered (or being delivered) to one subscription: its attempts, the
    last attempt's status code, duration and error, when to try again, and the lease of
    the replica sending it (`claimed_until`)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The X-Packages-Delivery header: the same on every retry.
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    first_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (UniqueConstraint("subscription_id", "seq"),)


class SyncState(Base):
    """Where `packages-api sync` stands with each source (app/transfer/sync.py): the last
    change-feed seq applied here, written in the same transaction as its events."""

    __tablename__ = "sync_state"

    source: Mapped[str] = mapped_column(String(2000), primary_key=True)
    last_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_full_import_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
