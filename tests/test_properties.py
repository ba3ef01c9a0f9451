"""Properties that hold for every input, checked with hypothesis: the URL normalizers and
the patterns the OpenAPI document publishes for them, slugs, pagination arithmetic, and
the mappers that turn upstream payloads into our figures.

The mappers' promise: whatever an upstream sends (huge numbers, nulls, wrong types,
unicode, a week list of the wrong length), they return valid figures or raise
`PayloadError`, the one error the refresher records; nothing else escapes.

Runtime: the `ci` profile (200 examples per property, the default); HYPOTHESIS_PROFILE=dev
runs 1000. No example database is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from app.config import Settings
from app.forges import bitbucket, forgejo, github, gitlab, pypi
from app.forges.base import RepoFigures
from app.forges.payload import MAX_COUNT, PayloadError, parse
from app.forges.weeks import WEEKS, window
from app.normalize import (
    HTTP_URL_PATTERN,
    PYPI_URL_PATTERN,
    REPO_URL_MAX_LENGTH,
    REPO_URL_PATTERN,
    normalize_pypi_url,
    normalize_repo_url,
    repo_host_of,
    slugify,
    validate_http_url,
    validate_slug,
)
from app.pagination import MAX_OFFSET, PageRequest, page_links, page_request
from app.repositories.base import MAX_ID, id_of

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

GITLAB_HOSTS = {"git.example.org": "gitlab"}
CANONICAL = re.compile(r"https://[a-z0-9.:-]+(/[a-z0-9._~-]+){2,}")


# --- URLs: what the document's patterns accept, the normalizers store ------------------


@given(st.from_regex(REPO_URL_PATTERN, fullmatch=True).filter(lambda u: len(u) <= 247))
def test_every_repo_url_the_document_allows_is_stored_in_canonical_form(raw: str) -> None:
    for hosts in (None, GITLAB_HOSTS):
        stored = normalize_repo_url(raw, hosts)
        if not raw:
            assert stored == ""
            continue
        assert CANONICAL.fullmatch(stored), stored
        assert len(stored) <= 255 and len(raw) <= REPO_URL_MAX_LENGTH
        # Normalizing is idempotent, and the stored form is itself valid input.
        assert normalize_repo_url(stored, hosts) == stored
        assert re.fullmatch(REPO_URL_PATTERN, stored)
        assert repo_host_of(stored, hosts) in {"github", "gitlab", "bitbucket", "forgejo", ""}


@given(st.text(max_size=300))
def test_any_text_is_a_repo_url_or_a_value_error(raw: str) -> None:
    try:
        stored = normalize_repo_url(raw)
    except ValueError:
        return
    assert stored == "" or CANONICAL.fullmatch(stored)


@given(st.from_regex(PYPI_URL_PATTERN, fullmatch=True).filter(lambda u: len(u) <= 255))
def test_every_pypi_url_the_document_allows_fits_its_column(raw: str) -> None:
    stored = normalize_pypi_url(raw)
    assert len(stored) <= 255
    assert stored == "" or stored.startswith(("http://", "https://"))


@given(st.from_regex(HTTP_URL_PATTERN, fullmatch=True).filter(lambda u: len(u) <= 255))
def test_every_documentation_url_the_document_allows_is_kept_as_sent(raw: str) -> None:
    assert validate_http_url(raw) == raw


@given(st.text(max_size=300))
def test_any_text_is_a_pypi_or_http_url_or_a_value_error(raw: str) -> None:
    for check in (normalize_pypi_url, validate_http_url):
        with contextlib.suppress(ValueError):
            check(raw)


# --- slugs and keys ------------------------------------------------------------------------

SLUG_SCHEMA = re.compile(r"[-a-zA-Z0-9_]+")


@given(st.text(max_size=200), st.integers(min_value=12, max_value=100))
def test_any_title_gets_a_valid_slug(title: str, max_length: int) -> None:
    slug = slugify(title, max_length)
    assert validate_slug(slug) == slug
    assert 1 <= len(slug) <= max_length
    assert slugify(title, max_length) == slug  # stable: the same title, the same slug


@given(st.text(max_size=120))
def test_a_slug_is_accepted_exactly_when_the_documented_pattern_says_so(text: str) -> None:
    documented = bool(SLUG_SCHEMA.fullmatch(text)) and not re.fullmatch("[0-9]+", text)
    try:
        validate_slug(text)
    except ValueError:
        assert not documented
    else:
        assert documented


@given(st.text(max_size=30) | st.integers(min_value=0, max_value=2**70).map(str))
def test_a_key_names_an_id_in_range_or_none(text: str) -> None:
    number = id_of(text)
    if number is None:
        assert not (text.isascii() and text.isdigit() and int(text) <= MAX_ID)
    else:
        assert 0 <= number <= MAX_ID and number == int(text)


# --- pagination arithmetic --------------------------------------------------------------------

PAGES = Settings(page_size=20, max_page_size=100)
raw_numbers = st.none() | st.text(max_size=25) | st.integers(-(2**70), 2**70).map(str)


@given(raw_numbers, raw_numbers)
def test_any_limit_and_offset_give_a_page_in_bounds(limit: str | None, offset: str | None) -> None:
    page = page_request(limit, offset, PAGES)
    assert 1 <= page.limit <= PAGES.max_page_size
    assert 0 <= page.offset <= MAX_OFFSET


def _offset_of(link: str) -> int:
    return int(parse_qs(urlsplit(link).query).get("offset", ["0"])[0])


@given(
    st.integers(1, 100),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.sampled_from(["", "ordering=-id", "category=apps&offset=7", "limit=x&z=1"]),
)
def test_next_and_previous_links_are_sane(limit: int, offset: int, count: int, query: str) -> None:
    url = "https://packages.example.org/api/v4/packages/"
    next_link, previous_link = page_links(PageRequest(limit, offset), count, url, query)
    # The last page (or past it) has no next; any other has one, one page further.
    assert (next_link is None) == (offset + limit >= count)
    if next_link is not None:
        assert _offset_of(next_link) == offset + limit
        assert parse_qs(urlsplit(next_link).query)["limit"] == [str(limit)]
    # The first page has no previous; any other points back, never below 0.
    assert (previous_link is None) == (offset == 0)
    if previous_link is not None:
        assert _offset_of(previous_link) == max(offset - limit, 0)
    for link in (next_link, previous_link):
        if link is not None:
            assert link.startswith(url)
            assert all(int(v) >= 0 for v in parse_qs(urlsplit(link).query).get("offset", []))


@given(st.integers(1, 100), st.integers(0, 2_000))
def test_following_next_visits_every_result_once(limit: int, count: int) -> None:
    url = "https://packages.example.org/api/v4/packages/"
    page, seen, pages = PageRequest(limit, 0), 0, 0
    while True:
        seen += max(0, min(page.limit, count - page.offset))
        pages += 1
        next_link, _ = page_links(page, count, url, "")
        if next_link is None:
            break
        page = PageRequest(limit, _offset_of(next_link))
    assert seen == count
    assert pages == max(1, math.ceil(count / limit))


# --- upstream payloads -------------------------------------------------------------------------

hostile_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([2**31 - 1, 2**31, 2**63, -1, 0])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-05:00",
            "2024-02-30T00:00:00Z",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00Z",
            "http://[",
            "https://github.com/Owner/Repo",
            "1.0",
            ">=3.8",
            "License :: OSI Approved :: MIT License",
        ]
    )
)
hostile_json = st.recursive(
    hostile_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


def _shaped(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with (some of) the expected keys, each holding a hostile or a plausible value."""
    return st.fixed_dictionaries(
        {},
        optional={name: hostile_json | plausible for name, plausible in fields.items()},
    )


def _response(payload: Any) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(payload).encode())


def _mapped(adapter: TypeAdapter[Any], payload: Any, mapper: Callable[[Any], Any]) -> Any:
    """The mapper's result for the payload, or None when it is refused as PayloadError."""
    try:
        parsed = asyncio.run(parse(adapter, _response(payload), "payload"))
    except PayloadError:
        return None
    try:
        return mapper(parsed)
    except PayloadError:
        return None


def _check_repo_figures(figures: RepoFigures) -> None:
    for count in (figures.stars, figures.forks):
        assert count is None or 0 <= count <= MAX_COUNT
    assert figures.description is None or isinstance(figures.description, str)
    assert figures.last_commit_at is None or figures.last_commit_at.utcoffset() == dt.timedelta(0)
    assert figures.moved_to is None or isinstance(figures.moved_to, str)


counts = st.integers(0, MAX_COUNT)
names = st.text(max_size=30)
instants = st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat())


@given(
    _shaped(
        {
            "nameWithOwner": st.just("owner/repo") | names,
            "url": st.just("https://github.com/owner/renamed") | names,
            "description": st.none() | names,
            "stargazerCount": counts,
            "forkCount": counts,
            "isArchived": st.booleans(),
            "defaultBranchRef": st.none()
            | st.fixed_dictionaries(
                {
                    "target": st.fixed_dictionaries(
                        {"__typename": names, "oid": names},
                        optional={"committedDate": instants | hostile_scalars},
                    )
                }
            ),
        }
    )
)
def test_github_repository_nodes_map_or_raise_payload_error(node: dict[str, Any]) -> None:
    key = github.RepoKey(host="github.com", path="owner/repo")
    try:
        figures, _oid = github._figures_from_graphql(node, key)
    except PayloadError:
        return
    _check_repo_figures(figures)


@given(
    st.fixed_dictionaries(
        {
            "object": st.none()
            | st.fixed_dictionaries(
                {
                    f"w{k}": st.fixed_dictionaries({"totalCount": counts | hostile_scalars})
                    for k in range(WEEKS)
                }
            )
            | st.dictionaries(
                st.sampled_from([f"w{k}" for k in range(WEEKS + 3)]),
                st.fixed_dictionaries({"totalCount": counts | hostile_scalars}),
                max_size=WEEKS + 3,
            )
        }
    )
    | hostile_json
)
def test_github_weekly_totals_are_52_counts_or_payload_error(node: Any) -> None:
    try:
        weeks = github._weekly_from_graphql(node)
    except PayloadError:
        return
    assert len(weeks) == WEEKS
    assert all(0 <= total <= MAX_COUNT for total in weeks)


@given(
    st.fixed_dictionaries(
        {
            "object": st.none()
            | st.fixed_dictionaries(
                {
                    "history": st.fixed_dictionaries(
                        {
                            "totalCount": counts | hostile_scalars,
                            "pageInfo": st.fixed_dictionaries(
                                {
                                    "hasNextPage": st.booleans() | hostile_scalars,
                                    "endCursor": st.none() | names,
                                }
                            ),
                            "nodes": st.lists(
                                st.fixed_dictionaries(
                                    {"committedDate": instants | hostile_scalars}
                                ),
                                max_size=10,
                            ),
                        }
                    )
                }
            )
        }
    )
    | hostile_json
)
def test_github_history_pages_are_dates_or_payload_error(node: Any) -> None:
    try:
        page = github._history_from_graphql(node)
    except PayloadError:
        return
    assert 0 <= page.total <= MAX_COUNT
    assert all(date.tzinfo is not None for date in page.dates)


@given(
    st.lists(
        st.fixed_dictionaries({}, optional={"login": st.none() | names | hostile_scalars}),
        max_size=10,
    )
    | hostile_json
)
def test_github_contributors_are_logins_or_payload_error(payload: Any) -> None:
    try:
        logins = asyncio.run(github._logins(_response(payload)))
    except PayloadError:
        return
    assert all(isinstance(login, str) and login for login in logins)


def _per_repository_figures(
    apply: Callable[[Any, str, RepoFigures], None],
) -> Callable[[Any], RepoFigures]:
    def mapper(parsed: Any) -> RepoFigures:
        figures = RepoFigures()
        apply(parsed, "owner/repo", figures)
        return figures

    return mapper


REPOSITORY_PAYLOADS: dict[str, tuple[TypeAdapter[Any], Callable[[Any], Any], dict[str, Any]]] = {
    "gitlab": (
        gitlab._PROJECT,
        _per_repository_figures(lambda project, path, figures: project.figures_into(figures, path)),
        {
            "path_with_namespace": names,
            "web_url": names,
            "star_count": counts,
            "forks_count": counts,
            "description": st.none() | names,
            "archived": st.booleans(),
            "default_branch": st.none() | names,
        },
    ),
    "forgejo": (
        forgejo._REPOSITORY,
        _per_repository_figures(lambda repo, path, figures: repo.figures_into(figures, path)),
        {
            "full_name": names,
            "html_url": names,
            "stars_count": counts,
            "forks_count": counts,
            "description": st.none() | names,
            "archived": st.booleans(),
            "empty": st.booleans(),
        },
    ),
    "bitbucket": (
        bitbucket._REPOSITORY,
        _per_repository_figures(bitbucket._repository_figures),
        {
            "full_name": names,
            "description": st.none() | names,
            "mainbranch": st.none() | st.fixed_dictionaries({"name": names}),
            "links": st.fixed_dictionaries({"html": st.fixed_dictionaries({"href": names})}),
        },
    ),
}


@pytest.mark.parametrize("forge", sorted(REPOSITORY_PAYLOADS))
@given(data=st.data())
def test_repository_payloads_map_or_raise_payload_error(forge: str, data: st.DataObject) -> None:
    adapter, mapper, fields = REPOSITORY_PAYLOADS[forge]
    payload = data.draw(_shaped(fields) | hostile_json)
    figures = _mapped(adapter, payload, mapper)
    if figures is not None:
        _check_repo_figures(figures)


COMMIT_PAYLOADS: dict[str, tuple[TypeAdapter[Any], st.SearchStrategy[Any]]] = {
    "gitlab": (
        gitlab._COMMITS,
        st.fixed_dictionaries({"committed_date": instants | hostile_scalars}),
    ),
    "forgejo": (
        forgejo._COMMITS,
        st.fixed_dictionaries(
            {
                "commit": st.fixed_dictionaries(
                    {"committer": st.fixed_dictionaries({"date": instants | hostile_scalars})}
                )
            },
            optional={"author": st.none() | st.fixed_dictionaries({"login": names})},
        ),
    ),
    "bitbucket": (
        TypeAdapter(list[bitbucket._Commit]),
        st.fixed_dictionaries({"date": instants | hostile_scalars}),
    ),
}


@pytest.mark.parametrize("forge", sorted(COMMIT_PAYLOADS))
@given(data=st.data())
def test_commit_lists_count_into_52_weeks_or_raise_payload_error(
    forge: str, data: st.DataObject
) -> None:
    adapter, commit = COMMIT_PAYLOADS[forge]
    payload = data.draw(st.lists(commit, max_size=20) | hostile_json)
    now = data.draw(st.datetimes(min_value=dt.datetime(2000, 1, 1), timezones=st.just(dt.UTC)))
    weeks = window(now)

    def totals(commits: list[Any]) -> list[int]:
        dates = [
            getattr(c, "committed_date", None)
            or getattr(c, "date", None)
            or c.commit.committer.date
            for c in commits
        ]
        return weeks.totals(dates)

    counted = _mapped(adapter, payload, totals)
    if counted is not None:
        assert len(counted) == WEEKS
        assert all(total >= 0 for total in counted)
        assert sum(counted) <= len(payload)


@pytest.mark.parametrize(
    ("adapter", "payload"),
    [
        (TypeAdapter(list[bitbucket._Commit]), [{"date": "0001-01-01T00:00:00+01:00"}]),
        (gitlab._COMMITS, [{"committed_date": "0001-01-01T00:00:00+00:01"}]),
    ],
)
def test_a_date_before_the_first_utc_instant_is_a_payload_error(
    adapter: TypeAdapter[Any], payload: Any
) -> None:
    # Found by the property above: it parsed, then overflowed converting to UTC.
    with pytest.raises(PayloadError, match="out of range"):
        asyncio.run(parse(adapter, _response(payload), "commits"))


@given(
    st.lists(st.datetimes(timezones=st.timezones() | st.just(dt.UTC)), max_size=30),
    st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(9000, 1, 1),
        timezones=st.just(dt.UTC),
    ),
)
def test_a_window_always_has_52_weeks_and_counts_each_date_at_most_once(
    dates: list[dt.datetime], now: dt.datetime
) -> None:
    weeks = window(now)
    totals = weeks.totals(dates)
    assert len(totals) == WEEKS
    assert sum(totals) == sum(1 for d in dates if weeks.start <= d < weeks.end)
    assert weeks.bucket(now) == WEEKS - 1


versions = (
    st.sampled_from(["1.0", "2.0rc1", "1.0-final-2", "x", "", "99999999999999999999.1"]) | names
)


@given(
    _shaped(
        {
            "info": _shaped(
                {
                    "license": st.none() | names,
                    "license_expression": st.none() | names,
                    "requires_python": st.none()
                    | st.sampled_from([">=3.8", "<3", "==2.7.*", "~=3.10.2", "junk"])
                    | names,
                    "classifiers": st.lists(
                        st.sampled_from(
                            [
                                "Programming Language :: Python :: 3",
                                "License :: OSI Approved :: MIT License",
                            ]
                        )
                        | names,
                        max_size=5,
                    ),
                    "project_urls": st.none()
                    | st.dictionaries(
                        st.sampled_from(["Documentation", "Docs", "Home"]) | names,
                        names | st.just("http://[") | st.just("https://docs.example.org/"),
                        max_size=3,
                    ),
                    "docs_url": st.none() | names | st.just("http://["),
                }
            ),
            "releases": st.dictionaries(
                versions,
                st.lists(
                    st.fixed_dictionaries({}, optional={"yanked": st.booleans() | hostile_scalars}),
                    max_size=3,
                ),
                max_size=5,
            ),
        }
    )
    | hostile_json
)
@example({"info": {"project_urls": {"Documentation": "http://["}}})
@example({"info": {"docs_url": "http://[", "requires_python": ">=3.8,<4,junk"}})
@example({"info": {}, "releases": {"99999999999999999999.1": [{}], "1.0": [{"yanked": True}]}})
def test_pypi_projects_map_or_raise_payload_error(payload: Any) -> None:
    figures = _mapped(pypi._PROJECT, payload, pypi.pypi_figures)
    if figures is None:
        return
    assert figures.version is None or isinstance(figures.version, str)
    assert isinstance(figures.classifiers, list)
    assert isinstance(figures.supports_python3, bool)
    doc = figures.documentation_url
    assert doc is None or urlsplit(doc).scheme in {"http", "https"}
