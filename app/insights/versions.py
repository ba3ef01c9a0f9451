"""Which Django and Python versions a package supports, from its PyPI metadata.

The rules (docs/compatibility.md states them for users):
- Django: the `Framework :: Django :: X.Y` classifiers. `Framework :: Django` alone and the
  major-only `Framework :: Django :: 5` name no minor version, so they add none: the list
  holds what the package declares, never a guess.
- Python: the `Programming Language :: Python :: X.Y` classifiers, less the versions a valid
  Requires-Python excludes (pip enforces it: it will not install there); when that leaves
  none, the Requires-Python evaluated over the candidate versions (a setting). A minor
  version X.Y is admitted when some release X.Y.Z is: `>=3.10.2` admits 3.10.
- Unknown is `[]`. Lists are ascending by version (4.2 < 5.0 < 5.10), each once, as "X.Y".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

MinorVersion = tuple[int, int]

# Python versions in support on 2026-12-03 (devguide's release cycle): 3.10 reached its end
# of life in October 2026 and 3.15.0 was released on 2026-10-09. Requires-Python is only
# evaluated over these, so a package is never said to support a version nobody can run
# (3.99) nor one that is long gone. The PYTHON_VERSIONS setting replaces it; update the
# default each October when a version is released and another reaches its end of life.
DEFAULT_PYTHON_VERSIONS: tuple[str, ...] = ("3.11", "3.12", "3.13", "3.14", "3.15")

# ASCII digits only (str.isdigit accepts "٣"), at most 4 of them: a classifier is free text
# to us, and int() of thousands of digits is slow or refused.
_MINOR = re.compile(r"([0-9]{1,4})\.([0-9]{1,4})")
_DJANGO = ("Framework", "Django")
_PYTHON = ("Programming Language", "Python")


def parse_minor(text: str) -> MinorVersion | None:
    """(5, 2) from "5.2"; None for anything that is not exactly two numbers."""
    match = _MINOR.fullmatch(text.strip())
    return (int(match[1]), int(match[2])) if match else None


def format_minor(version: MinorVersion) -> str:
    return f"{version[0]}.{version[1]}"


def minor_version(text: str) -> str:
    """A wanted version as a client types it ("5.2", " 5.02 ") in its canonical form.
    Raises ValueError with a message fit for the client (a 422 on `?django=`)."""
    parsed = parse_minor(text)
    if parsed is None:
        raise ValueError(f"{text.strip()!r} is not a version like 5.2 (major.minor)")
    return format_minor(parsed)


def minor_versions(texts: Iterable[str]) -> tuple[str, ...]:
    """Canonical, ascending, deduplicated; for the PYTHON_VERSIONS setting's validator."""
    return tuple(format_minor(v) for v in sorted({_required(text) for text in texts}))


def _required(text: str) -> MinorVersion:
    parsed = parse_minor(text)
    if parsed is None:
        raise ValueError(f"{text.strip()!r} is not a version like 3.13 (major.minor)")
    return parsed


def _classified(classifiers: Iterable[str], trail: tuple[str, str]) -> list[str]:
    """The X.Y versions named by `trail :: X.Y` classifiers (whitespace around each part
    is tolerated; anything deeper, such as `Python :: 3 :: Only`, is not a version)."""
    found: set[MinorVersion] = set()
    for classifier in classifiers:
        parts = [part.strip() for part in classifier.split("::")]
        if len(parts) == 3 and (parts[0], parts[1]) == trail:
            version = parse_minor(parts[2])
            if version is not None:
                found.add(version)
    return [format_minor(version) for version in sorted(found)]


def django_versions(classifiers: Iterable[str]) -> list[str]:
    """The Django versions the classifiers declare, ascending: ["4.2", "5.0", "5.2"]."""
    return _classified(classifiers, _DJANGO)


def django_majors(classifiers: Iterable[str]) -> list[int]:
    """The majors of the major-only `Framework :: Django :: 5` classifiers: they say the
    package supports some 5.x without saying which, so a verdict for 5.2 stays unknown."""
    found: set[int] = set()
    for classifier in classifiers:
        parts = [part.strip() for part in classifier.split("::")]
        if (
            len(parts) == 3
            and (parts[0], parts[1]) == _DJANGO
            and re.fullmatch(r"[0-9]{1,4}", parts[2])
        ):
            found.add(int(parts[2]))
    return sorted(found)


def python_classifier_versions(classifiers: Iterable[str]) -> list[str]:
    """The X.Y versions of the `Programming Language :: Python :: X.Y` classifiers."""
    return _classified(classifiers, _PYTHON)


def requires_python_set(requires_python: str | None) -> SpecifierSet | None:
    """The Requires-Python specifier, or None when it is absent, blank or invalid."""
    if requires_python is None or not requires_python.strip():
        return None
    try:
        return SpecifierSet(requires_python)
    except InvalidSpecifier:
        return None


def admits(specifiers: SpecifierSet, version: MinorVersion) -> bool:
    """Whether some release X.Y.Z of Python satisfies the specifiers.

    Within one minor version the answer only changes at the patch numbers the specifiers
    name, so it is enough to try .0, the bare "X.Y" (for `===`), and each named patch p
    of this minor version with p + 1 (`>3.10.2`, `!=3.10.2`).
    """
    major, minor = version
    patches = {0}
    for specifier in specifiers:
        try:
            named = Version(specifier.version.removesuffix(".*"))
        except InvalidVersion:  # `===` takes any string: it names no patch of ours
            continue
        release = (*named.release, 0, 0)  # `>2` names 2.0.0
        if named.epoch == 0 and release[:2] == (major, minor):
            patches |= {release[2], release[2] + 1}
    candidates = [f"{major}.{minor}", *(f"{major}.{minor}.{patch}" for patch in sorted(patches))]
    return any(specifiers.contains(candidate, prereleases=True) for candidate in candidates)


def python_versions(
    classifiers: Iterable[str],
    requires_python: str | None,
    candidates: Sequence[str] = DEFAULT_PYTHON_VERSIONS,
) -> list[str]:
    """The Python versions a package supports, ascending: its X.Y classifiers that its
    Requires-Python admits (pip refuses to install where it does not), else the
    `candidates` its Requires-Python admits, else [] (unknown)."""
    specifiers = requires_python_set(requires_python)
    classified = declared_python_versions(classifiers, specifiers)
    if classified:
        return classified
    if specifiers is None:
        return []
    wanted = sorted({_required(candidate) for candidate in candidates})
    return [format_minor(version) for version in wanted if admits(specifiers, version)]


def declared_python_versions(
    classifiers: Iterable[str], specifiers: SpecifierSet | None
) -> list[str]:
    """The X.Y classifiers' versions, less those the Requires-Python (if valid) excludes."""
    return [
        version
        for version in python_classifier_versions(classifiers)
        if specifiers is None or admits(specifiers, _required(version))
    ]


def supports(versions: Iterable[str], wanted: str) -> bool:
    """Whether `wanted` ("5.2") is among `versions` (as the lists above hold them).
    Raises ValueError when `wanted` is not a major.minor version."""
    target = _required(wanted)
    return any(parse_minor(version) == target for version in versions)
