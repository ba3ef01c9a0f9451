"""django_versions and python_versions: what a package declares, never a guess."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from app.insights.versions import (
    DEFAULT_PYTHON_VERSIONS,
    admits,
    django_versions,
    minor_version,
    minor_versions,
    python_versions,
    requires_python_set,
    supports,
)
from tests.insights.strategies import (
    PROPERTY,
    classifiers,
    python_release,
    requires_python,
    valid_requires_python,
)

# The classifier format, written independently of the code under test: three parts, the
# last exactly two ASCII numbers; whitespace around the parts is tolerated.
_X_Y = r"\s*([0-9]{1,4})\.([0-9]{1,4})\s*"
DJANGO_X_Y = re.compile(rf"\s*Framework\s*::\s*Django\s*::{_X_Y}")
PYTHON_X_Y = re.compile(rf"\s*Programming Language\s*::\s*Python\s*::{_X_Y}")


def declared(pattern: re.Pattern[str], values: list[str]) -> list[str]:
    found = {(int(m[1]), int(m[2])) for c in values if (m := pattern.fullmatch(c))}
    return [f"{a}.{b}" for a, b in sorted(found)]


def brute_force_admits(specifiers: SpecifierSet, major: int, minor: int) -> bool:
    """Some real Python X.Y.Z satisfies the specifiers: tried for every patch up to past
    the highest one any specifier names."""
    named = [0]
    for specifier in specifiers:
        try:
            named.extend(Version(specifier.version.removesuffix(".*")).release)
        except InvalidVersion:
            continue
    candidates = [f"{major}.{minor}"] + [f"{major}.{minor}.{z}" for z in range(max(named) + 3)]
    return any(specifiers.contains(c, prereleases=True) for c in candidates)


# --- Django ----------------------------------------------------------------------------


def test_django_versions_come_from_the_x_y_classifiers_only_in_version_order() -> None:
    found = django_versions(
        [
            "Framework :: Django :: 5.10",
            "Framework :: Django",
            "Framework :: Django :: 5",
            "Framework :: Django :: 4.2",
            "Framework :: Django CMS :: 4.1",
            "Framework :: Django :: 5.0",
            "Framework :: Django :: 4.2",
            "Programming Language :: Python :: 3.12",
        ]
    )

    assert found == ["4.2", "5.0", "5.10"]


def test_a_package_without_django_classifiers_has_no_django_versions() -> None:
    assert django_versions(["Framework :: Django", "Framework :: Django :: 5"]) == []


@PROPERTY
@given(classifiers)
@example(["Framework :: Django :: \u0665.\u0662", "Framework :: Django :: 05.2 "])
@example(["Framework :: Django :: 99999.1", "Framework :: Django :: 1.10 :: Only"])
def test_django_versions_are_exactly_the_declared_x_y_ascending(values: list[str]) -> None:
    found = django_versions(values)

    assert found == declared(DJANGO_X_Y, values)
    shuffled = values * 2
    random.Random(0).shuffle(shuffled)
    assert django_versions(shuffled) == found


# --- Python ----------------------------------------------------------------------------


def test_python_versions_come_from_the_classifiers_when_there_are_some() -> None:
    found = python_versions(
        [
            "Programming Language :: Python :: 3 :: Only",
            "Programming Language :: Python :: 3.9",
            "Programming Language :: Python :: 3.13",
            "Programming Language :: Python :: Implementation :: PyPy",
            "Programming Language :: Python :: 3.10",
        ],
        None,
    )

    assert found == ["3.9", "3.10", "3.13"]


def test_a_version_requires_python_excludes_is_not_supported_whatever_the_classifiers() -> None:
    values = [
        "Programming Language :: Python :: 3.8",
        "Programming Language :: Python :: 3.12",
    ]

    assert python_versions(values, ">=3.10") == ["3.12"]


def test_classifiers_requires_python_wholly_excludes_count_as_none() -> None:
    stale = ["Programming Language :: Python :: 2.7"]

    assert python_versions(stale, ">=3.12", ["3.11", "3.12", "3.13"]) == ["3.12", "3.13"]


@pytest.mark.parametrize(
    ("specifier", "expected"),
    [
        (">=3.8,!=3.9.*", ["3.11", "3.12", "3.13", "3.14", "3.15"]),
        ("~=3.12", ["3.12", "3.13", "3.14", "3.15"]),
        ("==3.*", ["3.11", "3.12", "3.13", "3.14", "3.15"]),
        ("<3.13", ["3.11", "3.12"]),
        (">=3.12.2", ["3.12", "3.13", "3.14", "3.15"]),  # 3.12.2 and later are 3.12
        (">3.12.2,!=3.12.3,<3.13", ["3.12"]),  # 3.12.4
        ("==3.13.*,!=3.13.1", ["3.13"]),
        ("!=3.13.*", ["3.11", "3.12", "3.14", "3.15"]),
        ("===3.14", ["3.14"]),
        ("<3.11.0", []),
        ("", []),  # blank: no Requires-Python
        ("3.6", []),  # invalid: no operator
        (">=3.6;", []),
        ("python>=3.8", []),
    ],
)
def test_without_classifiers_requires_python_is_evaluated_over_the_candidates(
    specifier: str, expected: list[str]
) -> None:
    assert python_versions(["Programming Language :: Python :: 3 :: Only"], specifier) == expected


def test_the_default_candidates_are_the_versions_in_support_in_december_2026() -> None:
    # 3.10's end of life was October 2026; 3.15.0 came out on 2026-10-09.
    assert DEFAULT_PYTHON_VERSIONS == ("3.11", "3.12", "3.13", "3.14", "3.15")
    assert python_versions([], ">=3") == list(DEFAULT_PYTHON_VERSIONS)


@PROPERTY
@given(valid_requires_python, st.integers(2, 3), st.integers(0, 16))
@example(">3.10.2,!=3.10.3,!=3.10.4", 3, 10)
@example(">2", 2, 0)  # names 2.0.0, which 2.0.1 is after
@example("===3.10", 3, 10)
@example(">=3.10.0rc1,<3.10.0", 3, 10)
def test_a_minor_version_is_admitted_when_some_release_of_it_is(
    specifier: str, major: int, minor: int
) -> None:
    specifiers = SpecifierSet(specifier)

    assert admits(specifiers, (major, minor)) == brute_force_admits(specifiers, major, minor)


@PROPERTY
@given(classifiers, requires_python, st.lists(python_release, max_size=6))
def test_python_versions_follow_the_rule(
    values: list[str], specifier: str | None, raw_candidates: list[str]
) -> None:
    candidates = [c for c in raw_candidates if re.fullmatch(r"[0-9]+\.[0-9]+", c)]
    found = python_versions(values, specifier, candidates)

    specifiers = requires_python_set(specifier)
    classified = [
        version
        for version in declared(PYTHON_X_Y, values)
        if specifiers is None or brute_force_admits(specifiers, *map(int, version.split(".")))
    ]
    if classified:
        assert found == classified
    elif specifiers is None:
        assert found == []  # unknown stays unknown
    else:
        expected = sorted(
            {
                tuple(map(int, c.split(".")))
                for c in candidates
                if brute_force_admits(specifiers, *map(int, c.split(".")))
            }
        )
        assert found == [f"{a}.{b}" for a, b in expected]


# --- the wanted version ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"), [("5.2", "5.2"), (" 5.02 ", "5.2"), ("10.0", "10.0")]
)
def test_a_wanted_version_is_read_as_major_minor(typed: str, canonical: str) -> None:
    assert minor_version(typed) == canonical


@pytest.mark.parametrize("typed", ["5", "5.2.1", "five", "", "5.x", "\u0665.\u0662", "-5.2"])
def test_a_wanted_version_that_is_not_major_minor_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match=r"major\.minor"):
        minor_version(typed)


def test_the_candidates_setting_is_read_sorted_by_version_without_repeats() -> None:
    assert minor_versions(["3.13", "3.9", " 3.13", "3.10"]) == ("3.9", "3.10", "3.13")
    with pytest.raises(ValueError, match=r"3\.x"):
        minor_versions(["3.13", "3.x"])


@PROPERTY
@given(classifiers, st.integers(0, 12), st.integers(0, 12))
def test_supports_is_membership_by_version(values: list[str], major: int, minor: int) -> None:
    versions = django_versions(values)

    assert supports(versions, f"{major}.{minor}") == (f"{major}.{minor}" in versions)
    assert supports(versions, f" {major}.{minor:02d}") == (f"{major}.{minor}" in versions)
