"""Lookup items: a PyPI name, a repository URL or a PURL becomes one query each."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given

from app.insights.lookup import (
    ItemProblem,
    LookupInput,
    LookupInputError,
    LookupQuery,
    parse_item,
    parse_items,
    parse_requirements_input,
)
from app.insights.requirements import RequirementsError, SkippedLine
from tests.insights.strategies import PROPERTY, forge_segments, pypi_names

SHOP = "https://github.com/awesto/django-shop"


@pytest.mark.parametrize(
    ("item", "kind", "name"),
    [
        ("django-shop", "pypi", "django-shop"),
        ("  Django_Shop ", "pypi", "django-shop"),
        ("zope.interface", "pypi", "zope-interface"),
        ("https://pypi.org/project/Django-Shop/", "pypi", "django-shop"),
        ("https://pypi.org/project/django-shop/1.2.4/", "pypi", "django-shop"),
        ("http://pypi.python.org/pypi/django-shop", "pypi", "django-shop"),  # djangopackages'
        ("https://pypi.org/simple/django-shop/", "pypi", "django-shop"),
        ("https://github.com/awesto/django-shop", "repo", SHOP),
        ("https://GitHub.com/Awesto/Django-Shop.git", "repo", SHOP),
        ("https://github.com/awesto/django-shop/tree/master/docs", "repo", SHOP),
        ("git@github.com:awesto/django-shop.git", "repo", SHOP),
        ("github.com/awesto/django-shop", "repo", SHOP),
        ("pkg:pypi/django-shop", "pypi", "django-shop"),
        ("pkg:github/awesto/django-shop", "repo", SHOP),
        (
            "pkg:bitbucket/birkenfeld/pygments-main",
            "repo",
            "https://bitbucket.org/birkenfeld/pygments-main",
        ),
        ("pkg:gitlab/group/sub/project", "repo", "https://gitlab.com/group/sub/project"),
        ("pkg:git/codeberg.org/forgejo/forgejo", "repo", "https://codeberg.org/forgejo/forgejo"),
    ],
)
def test_each_kind_of_item_names_one_package(item: str, kind: str, name: str) -> None:
    query = parse_item(item)

    assert (query.query, query.kind, query.name) == (item, kind, name)


def test_a_pinned_pypi_purl_asks_for_that_version() -> None:
    assert parse_item("pkg:pypi/django-shop@1.2").specifier == "==1.2"
    assert parse_item("pkg:pypi/django-shop@1.2.0.RC1").specifier == "==1.2.0rc1"
    # Not PEP 440: compared as a string, as === does.
    assert (
        parse_item("pkg:pypi/django-shop@2013-02-01_nightly").specifier == "===2013-02-01_nightly"
    )


def test_a_repository_purl_keeps_its_commit_or_tag_and_says_its_subpath_is_not_looked_at() -> None:
    query = parse_item("pkg:github/awesto/django-shop@v1.2.4#docs/api")

    assert query == LookupQuery(
        "pkg:github/awesto/django-shop@v1.2.4#docs/api",
        "repo",
        SHOP,
        ref="v1.2.4",
        notes=("the answer is for the whole repository, not docs/api",),
    )


def test_a_repository_url_qualifier_moves_a_purl_to_that_forge() -> None:
    hosts = {"git.example.org": "gitlab", "ghe.example.com": "github"}

    on_gitlab = parse_item(
        "pkg:gitlab/group/sub/project?repository_url=https://git.example.org", forge_hosts=hosts
    )
    on_ghe = parse_item("pkg:github/o/r?repository_url=ghe.example.com", forge_hosts=hosts)

    assert on_gitlab.name == "https://git.example.org/group/sub/project"
    assert on_ghe.name == "https://ghe.example.com/o/r"


def test_a_pypi_purl_on_another_index_is_looked_up_on_pypi_and_says_so() -> None:
    elsewhere = parse_item("pkg:pypi/internal-tool?repository_url=https://pypi.corp.example/simple")
    mirror = parse_item(
        "pkg:pypi/django?repository_url=https://mirror.example/simple",
        pypi_hosts=frozenset({"mirror.example"}),
    )
    pypi = parse_item("pkg:pypi/django?repository_url=https://pypi.org/simple")

    assert elsewhere.notes == (
        "names a package on the index at pypi.corp.example; this directory knows PyPI's "
        "internal-tool, which may be another project",
    )
    assert mirror.notes == pypi.notes == ()


def test_a_configured_pypi_mirror_s_project_pages_name_projects() -> None:
    query = parse_item(
        "https://mirror.example/project/django/", pypi_hosts=frozenset({"mirror.example"})
    )

    assert (query.kind, query.name) == ("pypi", "django")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("django>=4.2", 'goes in "requirements"'),
        ("django shop", "is not a PyPI name, a repository URL or a PURL"),
        ("awesto/django-shop", "is not a PyPI name, a repository URL or a PURL"),
        ("pkg:npm/left-pad", "pkg:npm names no Python package"),
        ("pkg:pypi/ns/name", "is not a usable PURL: pkg:pypi has no namespace"),
        ("https://github.com/awesto", "must name an owner and a repository"),
        ("ftp://github.com/awesto/django-shop", "must be an http(s) URL"),
        ("https://pypi.org/search/?q=shop", "is a page of PyPI that names no project"),
        ("https://pypi.org/project/django%20shop/", "is not a PyPI name"),
    ],
)
def test_an_item_that_names_no_package_is_refused_with_why(item: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_item(item)


def test_every_blank_item_is_named_by_its_place_in_the_list() -> None:
    with pytest.raises(LookupInputError) as caught:
        parse_items(["django", "", "pkg:npm/x", " \t", "flask"])

    assert [(p.index, p.item) for p in caught.value.problems] == [(1, ""), (3, " \t")]
    assert str(caught.value) == "items[1]: is empty; items[3]: is empty"


def test_an_item_that_names_no_package_is_a_query_saying_why() -> None:
    found = parse_items(["django", "pkg:npm/x", "flask"])

    assert [(q.kind, q.name) for q in found.queries] == [
        ("pypi", "django"),
        ("unreadable", ""),
        ("pypi", "flask"),
    ]
    assert found.queries[1].query == "pkg:npm/x"
    [reason] = found.queries[1].notes
    assert reason.startswith(
        "not looked up: the item is not a usable PURL: pkg:npm names no Python package"
    )


def test_at_most_the_limit_of_items_are_taken() -> None:
    assert len(parse_items(["django"] * 100).queries) == 100
    with pytest.raises(LookupInputError) as caught:
        parse_items(["django"] * 101)

    assert caught.value.problems == (
        ItemProblem(100, "django", "at most 100 items in one request"),
    )


def test_items_keep_their_order_and_their_repeats() -> None:
    found = parse_items(["flask", "pkg:pypi/Django", "django"])

    assert [q.name for q in found.queries] == ["flask", "django", "django"]
    assert found.skipped == ()


def test_a_requirements_file_gives_one_query_per_requirement_and_its_skipped_lines() -> None:
    found = parse_requirements_input("django-shop[stripe]==1.2  # shop\n-r base.txt\nflask>=3\n")

    assert found == LookupInput(
        (
            LookupQuery("django-shop[stripe]==1.2", "pypi", "django-shop", "==1.2", line=1),
            LookupQuery("flask>=3", "pypi", "flask", ">=3", line=3),
        ),
        (
            SkippedLine(
                2, "-r base.txt", "includes another requirements file, which is not read here"
            ),
        ),
    )
    with pytest.raises(RequirementsError):
        parse_requirements_input("flask\n==3\n")


@PROPERTY
@given(pypi_names)
def test_a_project_has_one_name_however_it_is_written(name: str) -> None:
    forms = [
        name,
        name.upper(),
        f"pkg:pypi/{quote(name, safe='')}",
        f"pkg:pypi/{name}@1.0",
        f"https://pypi.org/project/{name}/",
        f"http://pypi.python.org/pypi/{name}",
    ]

    names = {parse_item(form).name for form in forms}
    kinds = {parse_item(form).kind for form in forms}

    assert len(names) == 1 and kinds == {"pypi"}
    (normalized,) = names
    assert normalized == normalized.lower() and "_" not in normalized and "." not in normalized


@PROPERTY
@given(forge_segments, forge_segments)
def test_a_repository_has_one_name_however_it_is_written(owner: str, repo: str) -> None:
    forms = [
        f"https://github.com/{owner}/{repo}",
        f"https://github.com/{owner}/{repo}.git",
        f"git@github.com:{owner}/{repo}.git",
        f"github.com/{owner}/{repo}",
        f"pkg:github/{owner}/{repo}",
        f"pkg:github/{owner.upper()}/{repo}@main",
    ]

    names = {parse_item(form).name for form in forms}

    assert names == {f"https://github.com/{owner.lower()}/{repo.lower()}"}
