"""The compatibility verdict for one looked-up package: yes, no or unknown, and why."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.insights.verdict import PackageFacts, Verdict, compatibility
from app.insights.versions import django_versions, python_versions
from tests.insights.strategies import PROPERTY, classifiers, requires_python

SHOP = PackageFacts(
    classifiers=[
        "Framework :: Django",
        "Framework :: Django :: 4.2",
        "Framework :: Django :: 5.0",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
    ],
    requires_python=">=3.10",
    latest_version="1.2.4",
)


def test_a_declared_version_is_supported() -> None:
    assert compatibility(SHOP, django="5.0", python="3.12") == Verdict(
        "yes", ("supports Django 5.0", "supports Python 3.12")
    )


def test_an_undeclared_version_is_not_and_the_reasons_say_what_is() -> None:
    assert compatibility(SHOP, django="5.2", python="3.13") == Verdict(
        "no",
        (
            "no classifier for Django 5.2; supports 4.2, 5.0",
            "no classifier for Python 3.13; supports 3.11, 3.12",
        ),
    )


def test_without_classifiers_django_support_is_unknown() -> None:
    bare = PackageFacts(["Framework :: Django"], None, "1.0")

    assert compatibility(bare, django="5.2") == Verdict(
        "unknown", ("Django support unknown: no Framework :: Django :: X.Y classifiers",)
    )


def test_a_major_only_classifier_leaves_its_minor_versions_unknown() -> None:
    major_only = PackageFacts(["Framework :: Django :: 5", "Framework :: Django :: 4.2"], None, "2")
    listed = PackageFacts(["Framework :: Django :: 5", "Framework :: Django :: 5.0"], None, "2")

    assert compatibility(major_only, django="5.2") == Verdict(
        "unknown", ("declares Django 5 but names no 5.x version",)
    )
    assert compatibility(major_only, django="3.2").compatible == "no"
    assert compatibility(listed, django="5.2").compatible == "no"  # it lists its 5.x


def test_without_python_classifiers_requires_python_answers_for_any_version() -> None:
    facts = PackageFacts([], ">=3.8,!=3.9.*", "1.0")

    assert compatibility(facts, python="3.9") == Verdict(
        "no", ("Requires-Python !=3.9.*,>=3.8 excludes Python 3.9",)
    )
    # 3.8 is not among the PYTHON_VERSIONS candidates; the verdict still knows.
    assert compatibility(facts, python="3.8") == Verdict(
        "yes", ("supports Python 3.8 (Requires-Python !=3.9.*,>=3.8)",)
    )


def test_requires_python_overrules_a_classifier_pip_would_refuse() -> None:
    facts = PackageFacts(
        ["Programming Language :: Python :: 3.9", "Programming Language :: Python :: 3.12"],
        ">=3.10",
        "1",
    )

    assert compatibility(facts, python="3.9") == Verdict(
        "no", ("Requires-Python >=3.10 excludes Python 3.9, though a classifier names it",)
    )


@pytest.mark.parametrize(
    ("requires", "reason"),
    [
        (
            None,
            "Python support unknown: no Programming Language :: Python :: X.Y classifiers "
            "and no Requires-Python",
        ),
        (
            "  ",
            "Python support unknown: no Programming Language :: Python :: X.Y classifiers "
            "and no Requires-Python",
        ),
        (
            "3.6",
            "Python support unknown: Requires-Python '3.6' is not a valid specifier, and "
            "no Programming Language :: Python :: X.Y classifiers",
        ),
    ],
)
def test_without_python_metadata_support_is_unknown(requires: str | None, reason: str) -> None:
    assert compatibility(PackageFacts([], requires, "1"), python="3.13") == Verdict(
        "unknown", (reason,)
    )


def test_no_beats_unknown_and_unknown_beats_yes() -> None:
    facts = PackageFacts(["Framework :: Django :: 5.2"], None, "1")

    assert compatibility(facts, django="5.2", python="3.13").compatible == "unknown"
    assert compatibility(facts, django="4.2", python="3.13").compatible == "no"


def test_a_package_not_in_the_directory_is_unknown() -> None:
    assert compatibility(None, django="5.2", notes=("names a package on the index at x",)) == (
        Verdict("unknown", ("names a package on the index at x", "not in this directory"))
    )


def test_with_nothing_to_check_against_the_answer_is_unknown() -> None:
    assert compatibility(SHOP) == Verdict(
        "unknown", ("no Django or Python version given to check",)
    )


@pytest.mark.parametrize("wanted", ["5", "5.2.1", "latest", ""])
def test_a_wanted_version_must_be_major_minor(wanted: str) -> None:
    with pytest.raises(ValueError, match=r"like 5\.2"):
        compatibility(SHOP, django=wanted)


# --- the latest release is all we know ---------------------------------------------------


@pytest.mark.parametrize("specifier", ["==1.2", "<1.2", "==1.1.*", "===1.2.4-legacy"])
def test_asking_for_other_versions_than_the_latest_is_unknown_never_a_guess(
    specifier: str,
) -> None:
    found = compatibility(SHOP, django="5.0", specifier=specifier)

    assert found == Verdict(
        "unknown",
        (
            f"asks for {specifier}, but only the latest release (1.2.4) is known here",
            "latest release 1.2.4: supports Django 5.0",
        ),
    )


@pytest.mark.parametrize("specifier", ["==1.2.4", ">=1.0,<2", "~=1.2", "!=1.2.3", "==1.2.4.0"])
def test_asking_for_versions_that_include_the_latest_gets_its_answer(specifier: str) -> None:
    assert compatibility(SHOP, django="5.0", specifier=specifier) == Verdict(
        "yes", ("supports Django 5.0",)
    )


def test_a_tag_is_matched_to_the_latest_release_and_a_commit_is_not() -> None:
    assert compatibility(SHOP, django="5.0", ref="v1.2.4").compatible == "yes"
    assert compatibility(SHOP, django="5.0", ref="1.2.4").compatible == "yes"
    assert compatibility(SHOP, django="5.0", ref="244fd47e07d1004") == Verdict(
        "unknown",
        (
            "asks for 244fd47e07d1004, a commit or tag, but only the latest release (1.2.4) "
            "is known",
            "latest release 1.2.4: supports Django 5.0",
        ),
    )


def test_a_pin_on_a_package_whose_latest_release_is_not_known_yet_is_unknown() -> None:
    facts = PackageFacts(SHOP.classifiers, SHOP.requires_python, None)

    assert compatibility(facts, django="5.0", specifier="==1.0") == Verdict(
        "unknown",
        (
            "asks for ==1.0, but the latest release is not known yet",
            "latest release (version unknown): supports Django 5.0",
        ),
    )


# --- the verdict and the package's lists agree -------------------------------------------


@PROPERTY
@given(classifiers, requires_python, st.integers(1, 6), st.integers(0, 12))
def test_yes_exactly_when_the_package_lists_the_version(
    values: list[str], requires: str | None, major: int, minor: int
) -> None:
    wanted = f"{major}.{minor}"
    facts = PackageFacts(values, requires, "1.0")

    django = compatibility(facts, django=wanted)
    python = compatibility(facts, python=wanted)

    # The same rule as django_versions, and as python_versions with this version a candidate.
    assert (django.compatible == "yes") == (wanted in django_versions(values))
    assert (python.compatible == "yes") == (wanted in python_versions(values, requires, [wanted]))
    if python.compatible == "unknown":
        assert python_versions(values, requires, [wanted]) == []
    assert len(django.reasons) == len(python.reasons) == 1
