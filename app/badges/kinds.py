"""The badge kinds a package has, from plain facts about it: what each says and its color.

`badge_for(kind, facts)` is what `/api/v4/packages/{key}/badges/{kind}.svg` renders; a
kind not in KINDS is a KeyError (a 404 to the router). Unknown facts say "unknown" in
grey rather than guess: no stars fetched yet, no Django classifier, no weekly counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from packaging.version import InvalidVersion, Version

from app.badges.svg import Badge

UNKNOWN = "unknown"
VERSIONS_SEPARATOR = " | "

# issue 18's maintenance statuses, greener the better maintained.
STATUS_COLORS = {
    "active": "brightgreen",
    "stale": "yellow",
    "inactive": "orange",
    "archived": "red",
    "deprecated": "red",
    UNKNOWN: "lightgrey",
}
DJANGO_COLOR = "#0c4b33"  # Django's green
PYTHON_COLOR = "#3776ab"  # Python's blue
_UNITS = ("k", "M", "G", "T", "P", "E")


@dataclass(frozen=True)
class BadgeFacts:
    """What a package's badges show; the integration fills it from the package."""

    stars: int | None = None
    version: str | None = None
    django_versions: Sequence[str] = field(default_factory=tuple)
    python_versions: Sequence[str] = field(default_factory=tuple)
    status: str | None = None
    commits_over_52: Sequence[int] = field(default_factory=tuple)


def compact_number(number: int) -> str:
    """999 -> "999", 1234 -> "1.2k", 12_345 -> "12k", 999_999 -> "1M": three significant
    digits at most, rounded half up, and never "1000k"."""
    if number < 0:
        return "-" + compact_number(-number)
    if number < 1000:
        return str(number)
    value = Decimal(number)
    for unit in _UNITS:
        value /= 1000
        one_decimal = value.quantize(Decimal("0.1"), ROUND_HALF_UP)
        if one_decimal < 10:
            return f"{one_decimal.normalize():f}{unit}"
        whole = value.quantize(Decimal(1), ROUND_HALF_UP)
        if whole < 1000 or unit == _UNITS[-1]:
            return f"{whole:f}{unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def _version_key(version: str) -> tuple[int, tuple[int, ...], str]:
    numbers = re.fullmatch(r"\d+(?:\.\d+)*", version)
    if numbers:
        return (0, tuple(int(part) for part in version.split(".")), "")
    return (1, (), version)


def versions_message(versions: Sequence[str]) -> str:
    """ "4.2 | 5.0 | 5.1": ascending by number, each once; "unknown" when there are none."""
    unique = {version.strip() for version in versions if version.strip()}
    return VERSIONS_SEPARATOR.join(sorted(unique, key=_version_key)) or UNKNOWN


def stars_badge(stars: int | None) -> Badge:
    if stars is None:
        return Badge("stars", UNKNOWN, "lightgrey")
    return Badge("stars", compact_number(stars), "blue")


def version_badge(version: str | None) -> Badge:
    """The latest release: blue, orange when it is a pre-release or a development one."""
    version = (version or "").strip()
    if not version:
        return Badge("pypi", UNKNOWN, "lightgrey")
    try:
        pre = Version(version).is_prerelease
    except InvalidVersion:  # a legacy version string: shown as it is
        pre = False
    message = f"v{version}" if version[0].isdigit() else version
    return Badge("pypi", message, "orange" if pre else "blue")


def django_badge(versions: Sequence[str]) -> Badge:
    message = versions_message(versions)
    return Badge("django", message, "lightgrey" if message == UNKNOWN else DJANGO_COLOR)


def python_badge(versions: Sequence[str]) -> Badge:
    message = versions_message(versions)
    return Badge("python", message, "lightgrey" if message == UNKNOWN else PYTHON_COLOR)


def status_badge(status: str | None) -> Badge:
    status = (status or UNKNOWN).strip().lower() or UNKNOWN
    return Badge("maintenance", status, STATUS_COLORS.get(status, "lightgrey"))


def activity_badge(commits_over_52: Sequence[int]) -> Badge:
    """A sparkline of the weekly commit counts, oldest first; `[]` (not fetched yet) is
    "unknown". The message, read by screen readers, sums the year up."""
    if not commits_over_52:
        return Badge("activity", UNKNOWN, "lightgrey")
    total = sum(max(0, count) for count in commits_over_52)
    weeks = len(commits_over_52)
    commits = "commit" if total == 1 else "commits"
    return Badge(
        "activity",
        f"{total} {commits} in {weeks} weeks",
        "blue" if total else "lightgrey",
        sparkline=tuple(commits_over_52),
    )


_RENDERERS: dict[str, Callable[[BadgeFacts], Badge]] = {
    "stars": lambda facts: stars_badge(facts.stars),
    "version": lambda facts: version_badge(facts.version),
    "django": lambda facts: django_badge(facts.django_versions),
    "python": lambda facts: python_badge(facts.python_versions),
    "status": lambda facts: status_badge(facts.status),
    "activity": lambda facts: activity_badge(facts.commits_over_52),
}
KINDS = tuple(_RENDERERS)


def badge_for(kind: str, facts: BadgeFacts) -> Badge:
    """The badge of `kind` (one of KINDS) for a package; KeyError for any other kind."""
    return _RENDERERS[kind](facts)
