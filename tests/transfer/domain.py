"""What djangopackages.org's database allows, field by field, as records to draw.

Built from ../shared/upstream/djangopackages-model.md, not from our picture of the data:
every nullable field is sometimes null, every blank one sometimes blank, texts reach their
column's length and go past the original's form limits (old rows do), URLs come in the old
spellings the original holds, two categories may share a slug, package slugs keep their
case, slugs may be only digits (Django's SlugField allows it), and any package may be in
0..n grids.

One description, drawn two ways: by hypothesis (`HypothesisDraw`, which shrinks a failure
to its smallest directory) and by a seeded `random.Random` (`RandomDraw`, for thousands of
records in well under a second). Records come in the shapes the original's API v4 serves
(hyperlinks on ORIGINAL, keys in its order); features and cells, which only a packages-api
serves, in the export format.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

from app.repositories.base import MAX_ID

ORIGINAL = "https://djangopackages.org"
T = TypeVar("T")

# Letters of several scripts, combining marks, emoji, spacing, quotes and line breaks:
# what titles and descriptions written over fifteen years hold. Never NUL (no PostgreSQL
# text holds it) and never a lone surrogate (no UTF-8 text does): outside the domain.
ANY_TEXT = (
    string.ascii_letters
    + string.digits
    + string.punctuation
    + " \t\n\r"
    + "éüßñçøÅ"
    + "日本語中文한국어"
    + "שלוםمرحبا"
    + "ΩЖя"
    + "🙂🚀🐍"
    + "\u0301\u200b\u00a0\u2028\ufeff"
)
SLUG_TEXT = string.ascii_letters + string.digits + "-_"
NAME_TEXT = string.ascii_letters + string.digits + "-_."
LOGIN_TEXT = string.ascii_letters + string.digits + "-_.é"
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
SPAN_SECONDS = 31 * 365 * 24 * 3600  # to 2030
# Offsets the original's serializer writes (its TIME_ZONE is America/New_York) and others.
OFFSETS = (-5 * 60, -4 * 60, 0, 330, 14 * 60, -12 * 60)


class Draw(Protocol):
    def integer(self, low: int, high: int) -> int: ...

    def boolean(self) -> bool: ...

    def pick(self, options: Sequence[T]) -> T: ...

    def text(self, size: int, alphabet: str) -> str:
        """Exactly `size` characters of `alphabet`."""
        ...


@dataclass
class RandomDraw:
    rng: random.Random

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def boolean(self) -> bool:
        return self.rng.random() < 0.5

    def pick(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def text(self, size: int, alphabet: str) -> str:
        return "".join(self.rng.choices(alphabet, k=size))


@dataclass
class HypothesisDraw:
    """Draws through a composite strategy's `draw`. A long text is a short drawn piece
    repeated to its size: a few choices instead of thousands, so an example stays within
    hypothesis' budget and still holds what the piece holds (any script, spaces at either
    end, a line break)."""

    draw: st.DrawFn

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def boolean(self) -> bool:
        return self.draw(st.booleans())

    def pick(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def text(self, size: int, alphabet: str) -> str:
        if size <= 24:
            return self.draw(st.text(st.sampled_from(alphabet), min_size=size, max_size=size))
        piece = self.draw(st.text(st.sampled_from(alphabet), min_size=1, max_size=12))
        return (piece * (size // len(piece) + 1))[:size]


def _size(draw: Draw, limit: int, *, blank: bool, beyond: int | None = None) -> int:
    """A length at the edges of a field's domain: blank, one, a few, the column's limit, and
    past the original's form limit (`beyond`) where its column has none."""
    options = [1, draw.integer(2, 24), limit]
    if blank:
        options.append(0)
    if beyond is not None:
        options += [beyond, beyond + 1, 2 * beyond + 7]
    return draw.pick(options)


def _text(draw: Draw, limit: int, *, blank: bool = True, beyond: int | None = None) -> str:
    text = draw.text(_size(draw, limit, blank=blank, beyond=beyond), ANY_TEXT)
    if not blank and not text.strip():
        # "blank: no": the original's forms refuse a title of spaces only.
        text = "t" + text[1:]
    return text


def _instant(draw: Draw) -> str:
    """An ISO 8601 instant with a UTC offset, as the original's API writes them."""
    moment = EPOCH + dt.timedelta(seconds=draw.integer(0, SPAN_SECONDS))
    if draw.boolean():
        moment = moment.replace(microsecond=draw.integer(1, 999_999))
    offset = dt.timezone(dt.timedelta(minutes=draw.pick(OFFSETS)))
    return moment.astimezone(offset).isoformat()


def _slug(draw: Draw, limit: int, taken: set[str]) -> str:
    for _ in range(100):
        slug = draw.text(_size(draw, limit, blank=False), SLUG_TEXT)
        if slug not in taken:
            taken.add(slug)
            return slug
    slug = f"s{len(taken)}"  # the draw kept repeating itself (hypothesis shrinking)
    taken.add(slug)
    return slug


def _name(draw: Draw) -> str:
    return draw.text(draw.integer(1, 20), NAME_TEXT)


def _repo_url(draw: Draw) -> str:
    """Blank, or a URLField value in the spellings the original holds (≤ 200)."""
    owner, name = _name(draw), _name(draw)
    forms = [
        "",
        f"https://github.com/{owner}/{name}",
        f"http://github.com/{owner}/{name}/",
        f"https://www.github.com/{owner}/{name}.git",
        f"https://github.com/{owner}/{name}/tree/master",
        f"https://gitlab.com/{owner}/{name}/{name}",
        f"https://bitbucket.org/{owner}/{name}/",
        f"https://codeberg.org/{owner}/{name}",
        f"https://code.google.com/p/{name}/",
        f"https://launchpad.net/{name}",
        f"http://hg.example.org/{owner}/{name}?x=1#y",
        f"git@github.com:{owner}/{name}.git",
    ]
    return draw.pick(forms)[:200]


def _pypi_url(draw: Draw) -> str:
    """A name or any old PyPI URL form (≤ 255), or blank."""
    name = _name(draw)
    forms = [
        "",
        name,
        f"http://pypi.python.org/pypi/{name}",
        f"https://pypi.python.org/pypi/{name}/",
        f"https://pypi.org/project/{name}/",
        f"http://pypi.org/project/{name}",
        f"https://pypi.org/project/{name}/1.0/",
        f"pypi {name}",
    ]
    return draw.pick(forms)


def _documentation_url(draw: Draw) -> str | None:
    name = _name(draw)
    forms: list[str | None] = [
        None,
        "",
        f"https://{name}.readthedocs.io/",
        f"http://readthedocs.org/docs/{name}/en/latest/",
        f"http://packages.python.org/{name}",
        f"https://example.org/{name} docs",
    ]
    return draw.pick(forms)


def _count(draw: Draw) -> int:
    return draw.pick([0, draw.integer(1, 5000), MAX_ID])


def _participants(draw: Draw) -> list[str]:
    # The API splits a comma-separated text, strips and drops empties: logins without
    # commas or surrounding spaces, in the stored order, repeats possible.
    return [draw.text(draw.integer(1, 39), LOGIN_TEXT) for _ in range(draw.pick([0, 1, 3, 12]))]


def _commits(draw: Draw) -> list[int]:
    if draw.boolean():
        return []  # never fetched
    return [draw.pick([0, 0, 1, draw.integer(0, 400)]) for _ in range(52)]


def _link(kind: str, record_id: int) -> str:
    return f"{ORIGINAL}/api/v4/{kind}/{record_id}/"


@dataclass
class Directory:
    """A drawn directory: the original's API records (each list in its order, `-id`), and
    features and cells in the export format."""

    categories: list[dict[str, Any]] = field(default_factory=list)
    grids: list[dict[str, Any]] = field(default_factory=list)
    packages: list[dict[str, Any]] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)
    elements: list[dict[str, Any]] = field(default_factory=list)

    def api_data(self) -> dict[str, list[dict[str, Any]]]:
        return {"categories": self.categories, "grids": self.grids, "packages": self.packages}

    def table_document(self) -> dict[str, Any]:
        """Features and cells as an export document (only a packages-api serves them)."""
        return {
            "format": "packages-api/export",
            "version": 1,
            "features": self.features,
            "elements": self.elements,
        }


def _ids(draw: Draw, count: int) -> list[int]:
    """Distinct ids, spread out as a database's are after deletions, newest first."""
    ids: set[int] = set()
    while len(ids) < count:
        ids.add(draw.pick([len(ids) + 1, draw.integer(1, 10**6), MAX_ID - len(ids)]))
    return sorted(ids, reverse=True)


def directory(
    draw: Draw, *, categories: int, grids: int, packages: int, tables: bool = True
) -> Directory:
    """A directory of these many records, every field drawn from the original's domain."""
    found = Directory()
    category_slugs: list[str] = []
    for category_id in _ids(draw, categories):
        # Not unique: a category may take a slug another one has.
        if category_slugs and draw.pick([False, False, True]):
            slug = draw.pick(category_slugs)
        else:
            slug = _slug(draw, 50, set(category_slugs))
        category_slugs.append(slug)
        found.categories.append(
            {
                "id": category_id,
                "title": _text(draw, 50, blank=False),
                "slug": slug,
                "description": _text(draw, 30, beyond=600),
                "title_plural": _text(draw, 50),
                "show_pypi": draw.boolean(),
                "created": _instant(draw),
                "modified": _instant(draw),
            }
        )
    grid_slugs: set[str] = set()
    grid_ids = _ids(draw, grids)
    package_ids = _ids(draw, packages)
    members: dict[int, list[int]] = {
        grid_id: sorted(
            {draw.pick(package_ids) for _ in range(draw.pick([0, 1, 3]))} if package_ids else []
        )
        for grid_id in grid_ids
    }
    for grid_id in grid_ids:
        found.grids.append(
            {
                "id": grid_id,
                "title": _text(draw, 100, blank=False),
                "slug": _slug(draw, 50, grid_slugs),
                "description": _text(draw, 30, beyond=1000),
                "is_locked": draw.boolean(),
                "packages": [_link("packages", package_id) for package_id in members[grid_id]],
                "header": draw.boolean(),
                "created": _instant(draw),
                "modified": _instant(draw),
            }
        )
    package_slugs: set[str] = set()
    repo_urls: set[str] = set()
    for package_id in package_ids:
        repo_url = _repo_url(draw)
        if repo_url in repo_urls:
            repo_url = f"{repo_url[:188]}/{package_id}" if repo_url else ""  # blank aside
        repo_urls.add(repo_url)
        found.packages.append(
            {
                "category": _link("categories", draw.pick([c["id"] for c in found.categories])),
                "grids": [_link("grids", g) for g in sorted(grid_ids) if package_id in members[g]],
                "id": package_id,
                "title": _text(draw, 100, blank=False),
                "slug": _slug(draw, 50, package_slugs),
                "last_updated": draw.pick([None, _instant(draw)]),
                "last_fetched": draw.pick([None, _instant(draw)]),
                "repo_url": repo_url,
                "pypi_version": draw.pick([None, "1.2.4", "0.1a1", _text(draw, 100, blank=False)]),
                "created": _instant(draw),
                "modified": _instant(draw),
                "repo_forks": _count(draw),
                "repo_description": _text(draw, 30, beyond=500),
                "pypi_url": _pypi_url(draw),
                "documentation_url": _documentation_url(draw),
                "repo_watchers": _count(draw),
                "commits_over_52": _commits(draw),
                "participants": _participants(draw),
            }
        )
    if tables:
        _tables(draw, found, members)
    return found


def _tables(draw: Draw, found: Directory, members: dict[int, list[int]]) -> None:
    """Comparison tables: 0..n features per grid, a cell per feature and member or not."""
    feature_ids = iter(_ids(draw, 2 * len(members)))
    for grid_id, package_ids in sorted(members.items()):
        for _ in range(draw.pick([0, 1, 2])):
            feature_id = next(feature_ids)
            found.features.append(
                {
                    "id": feature_id,
                    "grid": grid_id,
                    "title": _text(draw, 100, blank=False),
                    "description": _text(draw, 30, beyond=1000),
                    "created": _instant(draw),
                    "modified": _instant(draw),
                }
            )
            for package_id in package_ids:
                if draw.boolean():
                    found.elements.append(
                        {
                            "feature": feature_id,
                            "package": package_id,
                            "text": _text(draw, 30, beyond=1000),
                            "created": _instant(draw),
                            "modified": _instant(draw),
                        }
                    )


def directories(*, categories: int, grids: int, packages: int) -> st.SearchStrategy[Directory]:
    """Hypothesis' strategy: directories of up to these many records."""

    @st.composite
    def build(draw_fn: st.DrawFn) -> Directory:
        draw = HypothesisDraw(draw_fn)
        return directory(
            draw,
            categories=draw.integer(1, categories),
            grids=draw.integer(0, grids),
            packages=draw.integer(0, packages),
        )

    return build()
