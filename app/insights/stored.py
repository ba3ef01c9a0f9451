"""What the list's filters read, derived from a package's stored inputs (issue 18).

`?django=`, `?python=` and `?status=` must be index lookups at a million packages, so the
answers they test are stored beside their inputs: the columns commits_last_year,
last_activity and standing, and the package_versions rows. stored_facts() is the one
rule from inputs to stored values; app.repositories.facts writes its result after every
write of an input (API, refresher, importer, migration), so the two never disagree.

Python versions only Requires-Python admits depend on the PYTHON_VERSIONS setting (the
candidates it is evaluated over). To keep the stored rows independent of the setting,
each package has two lists of Python versions: `python`, what its classifiers declare
(less what Requires-Python excludes), and `python_any`, the same or, when it declares
none, what Requires-Python admits over PYTHON_UNIVERSE (every allowed setting is a
subset of it). python_versions() then holds a candidate exactly when `python_any` does,
and any other version exactly when `python` does: either way one range of the index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from app.insights.maintenance import last_activity, standing
from app.insights.versions import (
    admits,
    declared_python_versions,
    django_versions,
    format_minor,
    parse_minor,
    requires_python_set,
)

# Every Python version a PYTHON_VERSIONS setting may name (its validator says so).
PYTHON_UNIVERSE: Final[tuple[str, ...]] = ("2.7", *(f"3.{minor}" for minor in range(30)))


@dataclass(frozen=True, slots=True)
class StoredFacts:
    commits_last_year: int | None
    last_activity: dt.datetime | None
    standing: str  # "deprecated", "archived" or ""
    versions: tuple[tuple[str, str], ...]  # (kind, "X.Y"), sorted


def stored_facts(
    *,
    classifiers: Sequence[str] | None,
    requires_python: str | None,
    commits_over_52: Sequence[int] | None,
    last_commit: dt.datetime | None,
    last_release: dt.datetime | None,
    pypi_status: str | None,
    date_deprecated: dt.datetime | None,
    deprecated_by_id: int | None,
    repo_archived_at: dt.datetime | None,
) -> StoredFacts:
    """The stored values for a package's inputs, by the rules its answers are rendered with
    (app.insights.maintenance, app.insights.versions)."""
    held = standing(
        pypi_status=pypi_status,
        date_deprecated=date_deprecated,
        replaced=deprecated_by_id is not None,
        repo_archived_at=repo_archived_at,
    )
    return StoredFacts(
        # As Maintenance.commits_last_year: None while the weekly counts were never fetched.
        commits_last_year=sum(commits_over_52) if commits_over_52 else None,
        last_activity=last_activity(last_commit, last_release),
        standing=held or "",
        versions=_versions(tuple(classifiers or ()), requires_python),
    )


def python_kind(wanted: str, candidates: Sequence[str]) -> str:
    """The package_versions kind whose rows say a package supports Python `wanted`: a
    candidate may be admitted by Requires-Python alone, another version only declared."""
    return "python_any" if wanted in candidates else "python"


def in_universe(version: str) -> bool:
    return version in PYTHON_UNIVERSE


# Many packages share classifiers and Requires-Python (an import writes thousands).
@lru_cache(maxsize=4096)
def _versions(
    classifiers: tuple[str, ...], requires_python: str | None
) -> tuple[tuple[str, str], ...]:
    specifiers = requires_python_set(requires_python)
    declared = declared_python_versions(classifiers, specifiers)
    rows = [("django", version) for version in django_versions(classifiers)]
    rows += [("python", version) for version in declared]
    rows += [("python_any", version) for version in declared]
    if not declared and specifiers is not None:
        admitted = (parse_minor(version) for version in PYTHON_UNIVERSE)
        rows += [
            ("python_any", format_minor(version))
            for version in admitted
            if version is not None and admits(specifiers, version)
        ]
    return tuple(sorted(rows))
