"""Does one package support the Django and Python a lookup asks about? yes, no or unknown,
with the reasons, from the same rules as the package's django_versions and python_versions.

- Django X.Y: "yes" when a `Framework :: Django :: X.Y` classifier names it; "unknown" when
  the major-only `Framework :: Django :: X` names its major and no X.* classifier does, or
  when no X.Y classifier exists at all; otherwise "no" (others are declared, not this one).
- Python X.Y: with X.Y classifiers that Requires-Python admits, "yes" when one names it and
  "no" otherwise; without them, Requires-Python decides for the wanted version itself
  (any version, not only the PYTHON_VERSIONS candidates); without either, "unknown".
- Together: "no" if either is "no", else "unknown" if either is, else "yes"; "unknown"
  when neither is asked.
- The metadata we hold is the latest release's. When the query asks for versions that
  exclude it (a pin `==1.2`, `<2`, a PURL's @1.2, a tag), the answer is "unknown" and the
  reasons say so, then what the latest release declares: never a guess about another one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from app.insights.versions import (
    admits,
    declared_python_versions,
    django_majors,
    django_versions,
    parse_minor,
    python_classifier_versions,
    requires_python_set,
)

Compatible = Literal["yes", "no", "unknown"]


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """What the directory knows of a package's latest release."""

    classifiers: Sequence[str]
    requires_python: str | None
    latest_version: str | None  # the package's pypi_version


@dataclass(frozen=True, slots=True)
class Verdict:
    compatible: Compatible
    reasons: tuple[str, ...]


def compatibility(
    facts: PackageFacts | None,
    *,
    django: str | None = None,
    python: str | None = None,
    specifier: str = "",
    ref: str | None = None,
    notes: Sequence[str] = (),
) -> Verdict:
    """The verdict for one looked-up package (None: not in the directory). `django` and
    `python` are "X.Y" (ValueError otherwise); `specifier`, `ref` and `notes` come from
    the query (app.insights.lookup.LookupQuery)."""
    wanted_django = _wanted(django, "Django")
    wanted_python = _wanted(python, "Python")
    if facts is None:
        return Verdict("unknown", (*notes, "not in this directory"))
    answers: list[tuple[Compatible, str]] = []
    if wanted_django is not None:
        answers.append(_django(facts.classifiers, wanted_django))
    if wanted_python is not None:
        answers.append(_python(facts.classifiers, facts.requires_python, wanted_python))
    if not answers:
        return Verdict("unknown", (*notes, "no Django or Python version given to check"))

    mismatch = _version_mismatch(facts.latest_version, specifier, ref)
    if mismatch is not None:
        latest = facts.latest_version or "(version unknown)"
        described = tuple(f"latest release {latest}: {reason}" for _, reason in answers)
        return Verdict("unknown", (*notes, mismatch, *described))
    verdicts = {verdict for verdict, _ in answers}
    overall: Compatible = "yes"
    if "no" in verdicts:
        overall = "no"
    elif "unknown" in verdicts:
        overall = "unknown"
    return Verdict(overall, (*notes, *(reason for _, reason in answers)))


def _wanted(text: str | None, what: str) -> tuple[int, int] | None:
    if text is None:
        return None
    parsed = parse_minor(text)
    if parsed is None:
        raise ValueError(f"{what} {text.strip()!r} is not a version like 5.2 (major.minor)")
    return parsed


def _django(classifiers: Sequence[str], wanted: tuple[int, int]) -> tuple[Compatible, str]:
    label = f"{wanted[0]}.{wanted[1]}"
    declared = django_versions(classifiers)
    if label in declared:
        return "yes", f"supports Django {label}"
    same_major = [v for v in declared if v.split(".")[0] == str(wanted[0])]
    if wanted[0] in django_majors(classifiers) and not same_major:
        # `Framework :: Django :: 5` alone: some 5.x, we cannot say which.
        return "unknown", f"declares Django {wanted[0]} but names no {wanted[0]}.x version"
    if declared:
        return "no", f"no classifier for Django {label}; supports {', '.join(declared)}"
    return "unknown", "Django support unknown: no Framework :: Django :: X.Y classifiers"


def _python(
    classifiers: Sequence[str], requires_python: str | None, wanted: tuple[int, int]
) -> tuple[Compatible, str]:
    label = f"{wanted[0]}.{wanted[1]}"
    specifiers = requires_python_set(requires_python)
    declared = declared_python_versions(classifiers, specifiers)
    if declared:
        if label in declared:
            return "yes", f"supports Python {label}"
        if specifiers is not None and label in python_classifier_versions(classifiers):
            excluded = f"Requires-Python {specifiers} excludes Python {label}"
            return "no", f"{excluded}, though a classifier names it"
        return "no", f"no classifier for Python {label}; supports {', '.join(declared)}"
    if specifiers is not None:
        if admits(specifiers, wanted):
            return "yes", f"supports Python {label} (Requires-Python {specifiers})"
        return "no", f"Requires-Python {specifiers} excludes Python {label}"
    if requires_python is not None and requires_python.strip():
        return "unknown", (
            f"Python support unknown: Requires-Python {requires_python.strip()!r} is not a "
            "valid specifier, and no Programming Language :: Python :: X.Y classifiers"
        )
    return "unknown", (
        "Python support unknown: no Programming Language :: Python :: X.Y classifiers "
        "and no Requires-Python"
    )


def _version_mismatch(latest: str | None, specifier: str, ref: str | None) -> str | None:
    """Why the latest release's metadata does not answer for the versions asked, if so."""
    if not specifier and ref is None:
        return None
    asked = specifier if specifier else ref
    if latest is None:
        return f"asks for {asked}, but the latest release is not known yet"
    if specifier:
        try:
            included = SpecifierSet(specifier).contains(latest, prereleases=True)
        except InvalidSpecifier:
            included = False
        if not included:
            return f"asks for {specifier}, but only the latest release ({latest}) is known here"
    if ref is not None and not _same_release(ref, latest):
        return f"asks for {ref}, a commit or tag, but only the latest release ({latest}) is known"
    return None


def _same_release(ref: str, latest: str) -> bool:
    """Whether a tag names the latest release: "1.2.4" and "v1.2.4" do (PEP 440 reads the
    "v" prefix)."""
    try:
        return Version(ref) == Version(latest)
    except InvalidVersion:
        return ref == latest
