"""The bulk loader: an upsert of validated records, in batches of a few statements each.

Categories, grids, packages and features are keyed by id and checked against their unique
columns: the same id under another slug, or a slug or repository URL held by another id, is
refused with the reason (a category's slug is not unique, as in the original). Only that
record is refused: every check a database constraint would make is made here first, so
no statement fails and takes the batch down with it. Memberships are keyed by (grid,
package), elements by (feature, package). A record equal to what is stored is counted
unchanged and not written at all (its `modified` stays as it was). Timestamps are stored as
the source gives them.

Each batch costs a handful of statements whatever its size: a SELECT of the rows it touches,
a SELECT of the holders of its unique values, one executemany INSERT and one executemany
UPDATE, and when updated packages need it, one or two UPDATEs resetting the refresher's
state (see _note_stale_refresh_state). Nothing here commits: the caller owns the
transaction (app.transfer.run, or a benchmark), so a run commits all it accepted or,
rolled back, nothing.

    async with sessionmaker() as session, session.begin():
        summary = await load_records(session, {"categories": [...], "packages": [...]})
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, insert, null, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import record as feed
from app.columns import utcnow
from app.insights.names import stored_pypi_name
from app.models import OWN_FIELDS_UNSET, Category, Element, Feature, Grid, GridPackage, Package
from app.refresh.apply import FIGURE_COLUMNS
from app.repositories.facts import write_facts
from app.repositories.sequences import advance_id_sequences
from app.transfer.records import KINDS, Kind, RecordError, Row, label_of, validate
from app.transfer.summary import Summary

BATCH_SIZE = 1000

TABLES: dict[Kind, Table] = {
    "categories": Category.__table__,  # type: ignore[dict-item]
    "grids": Grid.__table__,  # type: ignore[dict-item]
    "packages": Package.__table__,  # type: ignore[dict-item]
    "memberships": GridPackage.__table__,  # type: ignore[dict-item]
    "features": Feature.__table__,  # type: ignore[dict-item]
    "elements": Element.__table__,  # type: ignore[dict-item]
}
# The kinds the change feed follows, by their resource names.
CHANGE_RESOURCES: dict[Kind, feed.Resource] = {
    "categories": "categories",
    "grids": "grids",
    "packages": "packages",
}
# As the original's: a category's slug is not unique (two may share one).
UNIQUE: dict[Kind, tuple[str, ...]] = {
    "categories": (),
    "grids": ("slug",),
    "packages": ("slug", "repo_url"),
    "features": (),
}
# The columns of each kind that refer to a record of another kind.
REFERENCES: dict[Kind, tuple[tuple[str, Kind], ...]] = {
    "categories": (),
    "grids": (),
    "packages": (("category_id", "categories"),),
    "memberships": (("grid_id", "grids"), ("package_id", "packages")),
    "features": (("grid_id", "grids"),),
    "elements": (("feature_id", "features"), ("package_id", "packages")),
}
SINGULAR: dict[Kind, str] = {
    "categories": "category",
    "grids": "grid",
    "packages": "package",
    "memberships": "membership",
    "features": "feature",
    "elements": "element",
}
# What the refresher fetches (figures, and the URLs it fetches them from): an import that
# changes any of them makes its ETags stale.
REFRESHED_COLUMNS = frozenset(FIGURE_COLUMNS) | {"pypi_url"}
# What a new package gets for the fields a source of the original's shape does not have.
PACKAGE_DEFAULTS: dict[str, Any] = {
    **OWN_FIELDS_UNSET,
    "deprecated_by_id": None,
    "refresh_error": "",
    "refresh_error_at": None,
    "refresh_failures": 0,
}


@dataclass(slots=True)
class _Joins:
    """The writes of a batch of rows keyed by what they join (memberships, elements)."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    now: dt.datetime = field(default_factory=utcnow)

    def upsert(self, current: Any, new: dict[str, Any], values: dict[str, Any]) -> str:
        """Insert `new` where there is no `current` row, else write the `values` that differ
        from it; the row's outcome: created, updated or unchanged."""
        if current is None:
            self.inserts.append(new)
            return "created"
        if any(getattr(current, name) != value for name, value in values.items()):
            self.updates.append({"id": current.id, **values})
            return "updated"
        return "unchanged"


class Loader:
    """Feeds records, in dependency order (see records.KINDS), into one session."""

    def __init__(
        self,
        session: AsyncSession,
        summary: Summary | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        forge_hosts: Mapping[str, str] | None = None,
    ) -> None:
        self.session = session
        # The configured forges (Settings.forge_hosts): they decide repo_host.
        self.forge_hosts = forge_hosts
        self.summary = summary or Summary()
        self.batch_size = batch_size
        self._pending: dict[Kind, list[Row]] = {kind: [] for kind in KINDS}
        # Keys seen in this run: a source that lists a record twice (an offset page that
        # shifted under a concurrent insert) is loaded once.
        self._seen: dict[Kind, set[Any]] = {kind: set() for kind in KINDS}
        # deprecated_by may name a package that comes later: applied by finish().
        self._deprecations: dict[int, int] = {}
        self._outcomes: dict[int, str] = {}
        # Ids refused because they name another record here (another slug, a feature of
        # another grid): what refers to them in this run is refused too, or it would be
        # attached to that other record.
        self._others: dict[Kind, set[int]] = {kind: set() for kind in KINDS}

    async def add(self, kind: Kind, records: Iterable[Any]) -> None:
        """Validate records in the export shape and write them in batches."""
        for record in records:
            try:
                row = validate(kind, record, self.forge_hosts)
            except RecordError as error:
                data = record if isinstance(record, Mapping) else {}
                self.summary.refuse(kind, label_of(kind, data), str(error))
                continue
            key = _key(kind, row.values)
            if key in self._seen[kind]:
                self.summary.warn(kind, row.label, "listed twice by the source; loaded once")
                continue
            self._seen[kind].add(key)
            self._pending[kind].append(row)
            if len(self._pending[kind]) >= self.batch_size:
                await self.flush(kind)

    def refuse(self, kind: Kind, label: str, reason: str) -> None:
        """Count a record the source could not even turn into the export shape."""
        self.summary.refuse(kind, label, reason)

    async def flush(self, kind: Kind | None = None) -> None:
        """Write what is pending of `kind` and the kinds it depends on (None: everything)."""
        # Earlier kinds first: a membership's package must be written before it is.
        last = KINDS.index(kind) if kind else len(KINDS) - 1
        for each in KINDS[: last + 1]:
            rows, self._pending[each] = self._pending[each], []
            if not rows:
                continue
            if each == "memberships":
                await self._memberships(rows)
            elif each == "elements":
                await self._elements(rows)
            else:
                await self._keyed(each, rows)

    async def finish(self) -> Summary:
        """Write the rest, set deferred deprecated_by links, and move PostgreSQL's id
        sequences past the imported ids so later creations never collide."""
        await self.flush()
        await self._apply_deprecations()
        await advance_id_sequences(self.session)
        return self.summary

    # Rows keyed by id: categories, grids, packages, features.

    async def _keyed(self, kind: Kind, rows: list[Row]) -> None:
        table = TABLES[kind]
        existing = await self._rows_by_id(table, [row.values["id"] for row in rows])
        holders = await self._holders(kind, rows)
        parents = await self._parents(kind, rows)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        # Packages whose refresher state the update makes wrong: ETags only, or all of it.
        stale: dict[str, list[int]] = {"etags": [], "source": []}
        events: list[feed.Event] = []
        for row in rows:
            values = row.values
            deprecation = _prepare_package(values) if kind == "packages" else None
            current = existing.get(values["id"])
            reason = self._refers_to_another(kind, values) or self._conflict(
                kind, values, current, holders, parents
            )
            if reason:
                if current is not None and _is_another(kind, values, current):
                    self._others[kind].add(values["id"])
                self.summary.refuse(kind, row.label, reason)
                continue
            if deprecation is not None:
                # Written by finish(), once every package of the run is in (0: none).
                self._deprecations[values["id"]] = deprecation
            # Taken by this run: a later record of the batch cannot have it too.
            for column in UNIQUE[kind]:
                if values.get(column) is not None:
                    holders[column][values[column]] = values["id"]
            resource = CHANGE_RESOURCES.get(kind)
            changed = [
                name for name, value in values.items() if current is None or current[name] != value
            ]
            if current is None:
                outcome = "created"
                inserts.append(
                    {**PACKAGE_DEFAULTS, **values} if kind == "packages" else dict(values)
                )
                if resource is not None:
                    events.append(feed.created(resource, values["id"], values))
            elif changed:
                outcome = "updated"
                if resource is not None:
                    events.append(feed.updated(resource, values["id"], changed))
                if kind == "packages":
                    _note_stale_refresh_state(current, values, stale)
                updates.append(values)
            else:
                outcome = "unchanged"
            self._count(kind, row, outcome)
            if kind == "packages" and values["id"] in self._deprecations:
                self._outcomes[values["id"]] = outcome
        await self._write(table, inserts, updates)
        if kind == "packages":
            await write_facts(self.session, [values["id"] for values in (*inserts, *updates)])
        # Core statements: noted for the change feed, as the session's hook cannot see them.
        feed.note(self.session, events)
        await self._reset_refresh_state(table, stale)

    async def _reset_refresh_state(self, table: Table, stale: dict[str, list[int]]) -> None:
        """At most two statements a batch; SQL NULLs, as on a package never fetched."""
        resets: list[tuple[list[int], dict[str, Any]]] = [
            (stale["etags"], {"refresh_etags": null(), "refresh_pypi_etag": None}),
            (
                stale["source"],
                {
                    "refresh_etags": null(),
                    "refresh_pypi_etag": None,
                    "refresh_retry_at": None,
                    "refresh_failures": 0,
                    "refresh_error": "",
                    "refresh_error_at": None,
                },
            ),
        ]
        for ids, values in resets:
            if ids:
                await self.session.execute(
                    update(table)
                    .where(table.c.id.in_(ids))
                    # Bookkeeping: `modified` stays the source's, not the column's onupdate.
                    .values(**values, modified=table.c.modified)
                )

    def _joinable(self, rows: Iterable[Row]) -> Iterator[Row]:
        """The join rows (memberships, elements) whose parents were not refused as another
        record here; each of the others is refused, in turn."""
        for row in rows:
            reason = self._refers_to_another(row.kind, row.values)
            if reason:
                self.summary.refuse(row.kind, row.label, reason)
            else:
                yield row

    def _refers_to_another(self, kind: Kind, values: Mapping[str, Any]) -> str | None:
        """Why a record that refers to a record refused as another one here is refused too."""
        for column, parent in REFERENCES[kind]:
            if values[column] in self._others[parent]:
                return (
                    f"{SINGULAR[parent]} {values[column]} is another {SINGULAR[parent]} here "
                    "(refused above)"
                )
        return None

    @staticmethod
    def _conflict(
        kind: Kind,
        values: dict[str, Any],
        current: Mapping[str, Any] | None,
        holders: dict[str, dict[Any, int]],
        parents: set[int] | None,
    ) -> str | None:
        """Why this record cannot be written, or None."""
        if current is not None and "slug" in values and current["slug"] != values["slug"]:
            return (
                f"id {values['id']} is {current['slug']!r} here but {values['slug']!r} in the "
                "source; a slug is how users address it, so it is not changed by an import"
            )
        if kind == "features" and current is not None and current["grid_id"] != values["grid_id"]:
            return f"feature {values['id']} belongs to grid {current['grid_id']} here"
        for column in UNIQUE[kind]:
            holder = holders[column].get(values.get(column))
            if holder is not None and holder != values["id"]:
                return f"{column} {values[column]!r} belongs to {SINGULAR[kind]} {holder} here"
        if parents is not None:
            parent, parent_kind = (
                ("category_id", "category") if kind == "packages" else ("grid_id", "grid")
            )
            if values[parent] not in parents:
                return (
                    f"{parent_kind} {values[parent]} is neither in the source nor here "
                    "(or it was refused)"
                )
        return None

    async def _rows_by_id(self, table: Table, ids: Sequence[int]) -> dict[int, Any]:
        result = await self.session.execute(select(table).where(table.c.id.in_(ids)))
        return {row.id: row._mapping for row in result}

    async def _holders(self, kind: Kind, rows: list[Row]) -> dict[str, dict[Any, int]]:
        """For each unique column, which id holds each of the batch's values here."""
        table = TABLES[kind]
        holders: dict[str, dict[Any, int]] = {}
        for column in UNIQUE[kind]:
            wanted = {row.values[column] for row in rows if row.values.get(column) is not None}
            holders[column] = {}
            if wanted:
                result = await self.session.execute(
                    select(table.c[column], table.c.id).where(table.c[column].in_(wanted))
                )
                holders[column] = {value: row_id for value, row_id in result}
        return holders

    async def _parents(self, kind: Kind, rows: list[Row]) -> set[int] | None:
        """The existing ids of the rows' parents (a package's category, a feature's grid)."""
        if kind == "packages":
            return await self._existing(
                TABLES["categories"], {r.values["category_id"] for r in rows}
            )
        if kind == "features":
            return await self._existing(TABLES["grids"], {r.values["grid_id"] for r in rows})
        return None

    async def _existing(self, table: Table, ids: set[int]) -> set[int]:
        if not ids:
            return set()
        result = await self.session.scalars(select(table.c.id).where(table.c.id.in_(ids)))
        return set(result)

    async def _write(
        self, table: Table, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]
    ) -> None:
        if table.name == "packages":
            for values in (*inserts, *updates):
                if "pypi_url" in values:
                    values["pypi_name"] = stored_pypi_name(values["pypi_url"])
        if inserts:
            # RETURNING makes SQLAlchemy send the rows as multi-row INSERTs ("insertmanyvalues",
            # ~1000 a statement) instead of one execution per row: PostgreSQL's statement
            # triggers (search documents, counts) then run once a page, not once a row
            # (3,000 packages: 10-12 s -> 6-9 s on a busy 2-core machine).
            await self.session.execute(insert(table).returning(table.c.id), inserts)
        # One executemany per set of columns (all records of one source have the same).
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values in updates:
            by_columns.setdefault(tuple(values), []).append(values)
        for columns, group in by_columns.items():
            statement = (
                update(table)
                .where(table.c.id == bindparam("key_id"))
                .values(
                    {
                        name: bindparam(f"new_{name}", type_=table.c[name].type)
                        for name in columns
                        if name != "id"
                    }
                )
            )
            params = [
                {"key_id": values["id"], **{f"new_{k}": v for k, v in values.items() if k != "id"}}
                for values in group
            ]
            connection = await self.session.connection()
            await connection.execute(statement, params)

    def _count(self, kind: Kind, row: Row, outcome: str) -> None:
        counts = self.summary.counts[kind]
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        for warning in row.warnings:
            self.summary.warn(kind, row.label, warning)

    async def _apply_deprecations(self) -> None:
        table = TABLES["packages"]
        pending = sorted(self._deprecations.items())
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start : start + self.batch_size]
            current = dict(
                (
                    await self.session.execute(
                        select(table.c.id, table.c.deprecated_by_id).where(
                            table.c.id.in_([package_id for package_id, _ in batch])
                        )
                    )
                ).all()
            )
            targets = await self._existing(table, {target for _, target in batch if target})
            changes = []
            for package_id, target in batch:
                if package_id not in current:
                    continue  # the package itself was refused
                wanted = target or None
                if wanted is not None and wanted in self._others["packages"]:
                    self.summary.warn(
                        "packages",
                        str(package_id),
                        f"deprecated_by names package {wanted}, which is another package "
                        "here (refused above); left unset",
                    )
                    wanted = None
                if wanted is not None and wanted not in targets:
                    self.summary.warn(
                        "packages",
                        str(package_id),
                        f"deprecated_by names package {wanted}, which is neither in the "
                        "source nor here; left unset",
                    )
                    wanted = None
                if current[package_id] == wanted:
                    continue
                changes.append({"key_id": package_id, "new_deprecated_by_id": wanted})
                feed.note(
                    self.session, [feed.updated("packages", package_id, ["deprecated_by_id"])]
                )
                if self._outcomes.get(package_id) == "unchanged":
                    counts = self.summary.counts["packages"]
                    counts.unchanged -= 1
                    counts.updated += 1
            if changes:
                connection = await self.session.connection()
                await connection.execute(
                    update(table)
                    .where(table.c.id == bindparam("key_id"))
                    # `modified` as it is: the source's value, not the column's onupdate.
                    .values(
                        deprecated_by_id=bindparam("new_deprecated_by_id"),
                        modified=table.c.modified,
                    ),
                    changes,
                )
                await write_facts(self.session, [package_id for package_id, _ in batch])

    # Memberships and elements: keyed by what they join.

    async def _memberships(self, rows: list[Row]) -> None:
        table = TABLES["memberships"]
        grid_ids = {row.values["grid_id"] for row in rows}
        package_ids = {row.values["package_id"] for row in rows}
        grids = await self._existing(TABLES["grids"], grid_ids)
        packages = await self._existing(TABLES["packages"], package_ids)
        result = await self.session.execute(
            select(table.c.id, table.c.grid_id, table.c.package_id, table.c.created).where(
                table.c.grid_id.in_(grid_ids), table.c.package_id.in_(package_ids)
            )
        )
        existing = {(row.grid_id, row.package_id): row for row in result}
        batch = _Joins()
        for row in self._joinable(rows):
            grid_id, package_id = row.values["grid_id"], row.values["package_id"]
            if grid_id not in grids:
                self.summary.refuse(row.kind, row.label, _missing("grid", grid_id))
                continue
            if package_id not in packages:
                self.summary.refuse(row.kind, row.label, _missing("package", package_id))
                continue
            created = row.values.get("created")
            outcome = batch.upsert(
                existing.get((grid_id, package_id)),
                {"grid_id": grid_id, "package_id": package_id, "created": created or batch.now},
                {} if created is None else {"created": created},
            )
            if outcome == "created":
                feed.note(
                    self.session,
                    [
                        feed.updated("grids", grid_id, ["packages"]),
                        feed.updated("packages", package_id, ["grids"]),
                    ],
                )
            self._count(row.kind, row, outcome)
        await self._write(table, batch.inserts, batch.updates)

    async def _elements(self, rows: list[Row]) -> None:
        table = TABLES["elements"]
        memberships = TABLES["memberships"]
        feature_ids = {row.values["feature_id"] for row in rows}
        features = dict(
            (
                await self.session.execute(
                    select(TABLES["features"].c.id, TABLES["features"].c.grid_id).where(
                        TABLES["features"].c.id.in_(feature_ids)
                    )
                )
            ).all()
        )
        pairs = {
            (features[row.values["feature_id"]], row.values["package_id"])
            for row in rows
            if row.values["feature_id"] in features
        }
        columns: dict[tuple[int, int], int] = {}
        if pairs:
            result = await self.session.execute(
                select(memberships.c.grid_id, memberships.c.package_id, memberships.c.id).where(
                    tuple_(memberships.c.grid_id, memberships.c.package_id).in_(pairs)
                )
            )
            columns = {(grid_id, package_id): m_id for grid_id, package_id, m_id in result}
        result = await self.session.execute(
            select(table).where(table.c.feature_id.in_(feature_ids))
        )
        existing = {(row.feature_id, row.grid_package_id): row for row in result}
        batch = _Joins()
        for row in self._joinable(rows):
            feature_id, package_id = row.values["feature_id"], row.values["package_id"]
            grid_id = features.get(feature_id)
            if grid_id is None:
                self.summary.refuse(row.kind, row.label, _missing("feature", feature_id))
                continue
            membership_id = columns.get((grid_id, package_id))
            if membership_id is None:
                self.summary.refuse(
                    row.kind, row.label, f"package {package_id} is not in grid {grid_id} here"
                )
                continue
            values: dict[str, Any] = {
                name: row.values[name]
                for name in ("text", "created", "modified")
                if name in row.values
            }
            outcome = batch.upsert(
                existing.get((feature_id, membership_id)),
                {
                    "feature_id": feature_id,
                    "grid_package_id": membership_id,
                    "created": batch.now,
                    "modified": batch.now,
                    **values,
                },
                values,
            )
            self._count(row.kind, row, outcome)
        await self._write(table, batch.inserts, batch.updates)


def _prepare_package(values: dict[str, Any]) -> int | None:
    """Take out deprecated_by (None: the source does not say)."""
    if "deprecated_by_id" in values:
        return int(values.pop("deprecated_by_id") or 0)
    return None


def _note_stale_refresh_state(
    current: Mapping[str, Any], values: Mapping[str, Any], stale: dict[str, list[int]]
) -> None:
    """Note what of the refresher's bookkeeping this update of a package makes wrong.

    Its ETags describe the figures it last fetched: once the import writes other figures,
    a 304 would keep the imported ones as if they were upstream's, so they are dropped and
    the next refresh fetches in full. Another repository or PyPI project also ends the old
    one's back-off and error. last_fetched stays as the source says (an export round-trips).
    """
    changed = {name for name, value in values.items() if current[name] != value}
    if changed & {"repo_url", "pypi_url"}:
        stale["source"].append(values["id"])
    elif changed & REFRESHED_COLUMNS:
        stale["etags"].append(values["id"])


def _is_another(kind: Kind, values: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether the stored record with this id is another one than the source's."""
    if "slug" in values and current["slug"] != values["slug"]:
        return True
    return kind == "features" and current["grid_id"] != values["grid_id"]


def _missing(what: str, key: int) -> str:
    return f"{what} {key} is neither in the source nor here (or it was refused)"


def _key(kind: Kind, values: Mapping[str, Any]) -> Any:
    if kind == "memberships":
        return (values["grid_id"], values["package_id"])
    if kind == "elements":
        return (values["feature_id"], values["package_id"])
    return values["id"]


async def load_records(
    session: AsyncSession,
    records: Mapping[Kind, Iterable[Any]],
    *,
    batch_size: int = BATCH_SIZE,
    forge_hosts: Mapping[str, str] | None = None,
) -> Summary:
    """Upsert records in the export shape (see docs/export-format.md) into `session`.

    `records` maps resource names to iterables of records; they are loaded in dependency
    order whatever the mapping's order. `forge_hosts` are the configured forges
    (Settings.forge_hosts). The caller commits (or rolls back).
    """
    loader = Loader(session, batch_size=batch_size, forge_hosts=forge_hosts)
    for kind in KINDS:
        if kind in records:
            await loader.add(kind, records[kind])
            await loader.flush(kind)
    return await loader.finish()
