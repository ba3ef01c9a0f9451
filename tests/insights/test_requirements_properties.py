"""requirements.txt files drawn from pip's format as a whole, errors included: PEP 508
names with extras, markers built from PEP 508's marker grammar, pins and ranges, hashes,
comments, option lines (`-r`, `-e`, `--index-url` ...), URL and path requirements,
environment variables, blank lines, continuations split at any word, and lines pip would
refuse, under every line ending str.splitlines() knows from files.

Whatever the file, the parser returns or raises RequirementsError, never anything else;
requirements and skipped lines keep the file's order and the number of their first
physical line; and every bad line, and only the bad lines, is named by that number.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume, given
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from app.insights.requirements import RequirementsError, parse_requirements
from tests.insights.strategies import (
    PROPERTY,
    location_lines,
    option_lines,
    pypi_names,
    sha256,
)

# --- PEP 508 ----------------------------------------------------------------------------

MARKER_VARIABLES = [
    "python_version",
    "python_full_version",
    "os_name",
    "sys_platform",
    "platform_release",
    "platform_system",
    "platform_version",
    "platform_machine",
    "platform_python_implementation",
    "implementation_name",
    "implementation_version",
    "extra",
]
MARKER_OPERATORS = ["<", "<=", "!=", "==", ">=", ">", "~=", "===", "in", "not in"]
marker_values = st.text(
    st.characters(codec="ascii", categories=["L", "N"], include_characters=".-_* "),
    max_size=12,
)


@st.composite
def quoted(draw: st.DrawFn) -> str:
    quote = draw(st.sampled_from(["'", '"']))
    return f"{quote}{draw(marker_values)}{quote}"


@st.composite
def marker_items(draw: st.DrawFn) -> str:
    left, right = draw(st.sampled_from(MARKER_VARIABLES)), draw(quoted())
    if draw(st.booleans()):  # either side may hold the variable
        left, right = right, left
    space = draw(st.sampled_from([" ", "  "]))
    return f"{left}{space}{draw(st.sampled_from(MARKER_OPERATORS))}{space}{right}"


markers = st.recursive(
    marker_items(),
    lambda inner: st.one_of(
        st.builds("{} and {}".format, inner, inner),
        st.builds("{} or {}".format, inner, inner),
        st.builds("({})".format, inner),
    ),
    max_leaves=4,
)

# PEP 440 versions, as pins and ranges put them.
versions = st.from_regex(
    r"(\d!)?\d{1,3}(\.\d{1,3}){0,3}((a|b|rc)\d{1,2})?(\.post\d{1,2})?(\.dev\d{1,2})?",
    fullmatch=True,
)
clauses = st.one_of(
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~="]),
        st.sampled_from(["", " "]),
        versions,
    ),
    st.builds("{}{}.*".format, st.sampled_from(["==", "!="]), versions),
)
specifiers = st.one_of(
    st.lists(clauses, min_size=1, max_size=3).map(",".join),
    # `===` takes the rest of the word, commas included: alone.
    st.builds("==={}".format, st.from_regex(r"[A-Za-z0-9.+_-]{1,12}", fullmatch=True)),
)


def _is_requirement(text: str) -> bool:
    try:
        Requirement(text)
    except InvalidRequirement:
        return False
    return True


# --- lines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One logical line of a generated file, and what the parser must make of it."""

    physical: tuple[str, ...]
    kind: str  # "requirement", "skipped", "error" or "nothing"
    name: str = ""
    specifier: str = ""
    marker: str | None = None
    hashes: int = 0


comments = st.text(st.characters(codec="ascii", categories=["L", "N", "P", "Zs"]), max_size=20)
comments = comments.filter(lambda text: not text.endswith("\\"))


def _continued(draw: st.DrawFn, words: list[str]) -> tuple[str, ...]:
    """The words on one line, or split over several with backslashes at word breaks."""
    if len(words) == 1 or not draw(st.booleans()):
        return (" ".join(words),)
    cuts = sorted(draw(st.sets(st.integers(1, len(words) - 1), min_size=1)))
    pieces = [words[a:b] for a, b in zip([0, *cuts], [*cuts, len(words)], strict=True)]
    # pip joins the lines as they are: the break keeps a space on one side.
    physical = [" ".join(piece) + " \\" for piece in pieces[:-1]] + [" ".join(pieces[-1])]
    return tuple([physical[0]] + ["    " + line for line in physical[1:]])


def _commented(draw: st.DrawFn, physical: tuple[str, ...]) -> tuple[str, ...]:
    if not draw(st.booleans()):
        return physical
    tail = draw(st.sampled_from(["  # ", " #", "\t# "])) + draw(comments)
    return (*physical[:-1], physical[-1] + tail)


@st.composite
def requirement_lines(draw: st.DrawFn) -> Line:
    name = draw(pypi_names)
    extras = draw(st.lists(pypi_names, max_size=2, unique_by=str.lower))
    specifier = draw(st.none() | specifiers)
    marker = draw(st.none() | markers)
    text = name
    if extras:
        text += draw(st.sampled_from(["", " "])) + "[" + ", ".join(extras) + "]"
    if specifier:
        if draw(st.booleans()) and not specifier.startswith("==="):
            text += f" ({specifier})"  # PEP 508's parenthesized form
        else:
            text += draw(st.sampled_from(["", " "])) + specifier
    if marker:
        text += draw(st.sampled_from([";", " ; ", "; "])) + marker
    assume(_is_requirement(text))
    hashes = draw(st.lists(sha256, max_size=3))
    options = [
        draw(st.sampled_from(["--hash=sha256:{}", "--hash sha256:{}"])).format(digest)
        for digest in hashes
    ]
    words = [*text.split(), *" ".join(options).split()]
    physical = _commented(draw, _continued(draw, words))
    return Line(
        physical,
        "requirement",
        name=canonicalize_name(name),
        specifier=specifier or "",
        marker=str(Marker(marker)) if marker else None,
        hashes=len(hashes),
    )


@st.composite
def bad_lines(draw: st.DrawFn) -> Line:
    """Lines pip refuses: a broken requirement, or an option a requirement cannot carry."""
    name = draw(pypi_names)
    text = draw(
        st.sampled_from(
            [
                f"{name}>=",
                f"=={name}",
                f"{name}[extra",
                f"{name} ; python_version >>> '3'",
                f"{name} is not a requirement",
                f"{name}==1.0 --no-deps",
                f"{name}==1.0 --hash",
                f"{name}==1.0 --hash=md5:" + "0" * 32,
                f"{name}==1.0 --hash=sha256",
            ]
        )
    )
    return Line(_commented(draw, _continued(draw, text.split())), "error")


skipped_lines = st.one_of(
    option_lines.map(lambda pair: Line((pair[0],), "skipped")),
    location_lines.map(lambda line: Line((line,), "skipped")),
    st.builds(
        lambda name: Line((f"{name}==${{VERSION}}",), "skipped"),
        pypi_names,
    ),
)
nothing_lines = st.one_of(
    comments.map(lambda text: Line((f"# {text}",), "nothing")),
    st.sampled_from(["", "   ", "\t"]).map(lambda blank: Line((blank,), "nothing")),
)
lines = st.one_of(requirement_lines(), skipped_lines, nothing_lines, bad_lines())
# What files use between lines; splitlines() also splits at \v, \f and \x1c-\x1e, which
# the generated lines never hold.
newlines = st.sampled_from(["\n", "\r\n", "\r"])


def _file(entries: list[Line], newline: str, final: bool) -> tuple[str, list[tuple[int, Line]]]:
    physical: list[str] = []
    numbered = []
    for entry in entries:
        numbered.append((len(physical) + 1, entry))
        physical.extend(entry.physical)
    return newline.join(physical) + (newline if final else ""), numbered


@PROPERTY
@given(st.lists(lines, max_size=20), newlines, st.booleans(), st.booleans())
def test_any_file_keeps_its_order_and_names_the_line_of_each_error(
    entries: list[Line], newline: str, final_newline: bool, bom: bool
) -> None:
    content, numbered = _file(entries, newline, final_newline)
    if bom:
        content = "\ufeff" + content
    errors = [number for number, entry in numbered if entry.kind == "error"]
    try:
        parsed = parse_requirements(content)
    except RequirementsError as error:
        assert [problem.line for problem in error.problems] == errors
        assert all(problem.text and problem.message for problem in error.problems)
        assert str(error).startswith(f"line {errors[0]}: ")
        return
    assert errors == []
    requirements = [(n, e) for n, e in numbered if e.kind == "requirement"]
    assert [r.line for r in parsed.requirements] == [n for n, _ in requirements]
    assert [
        (r.name, SpecifierSet(r.specifier), r.marker, r.hashes) for r in parsed.requirements
    ] == [(e.name, SpecifierSet(e.specifier), e.marker, e.hashes) for _, e in requirements]
    assert [s.line for s in parsed.skipped] == [n for n, e in numbered if e.kind == "skipped"]
    assert all(s.reason for s in parsed.skipped)


# Characters of pip's syntax, and a few that have no place in it.
_SYNTAX = st.sampled_from([*"abcXYZ019 \t#\\-_.=<>!~;,[]()@'\"/:$%{}*\n\r", "\ufeff", "é"])


@PROPERTY
@given(st.lists(lines, min_size=1, max_size=8), newlines, st.data())
def test_a_file_with_any_edit_is_parsed_or_refused_line_by_line(
    entries: list[Line], newline: str, data: st.DataObject
) -> None:
    content, _ = _file(entries, newline, True)
    # Characters of the syntax inserted, and some deleted, anywhere: near misses.
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(content)))
        if data.draw(st.booleans()):
            content = content[:at] + data.draw(_SYNTAX) + content[at:]
        else:
            content = content[:at] + content[at + 1 :]
    physical = len(content.removeprefix("\ufeff").splitlines())
    try:
        parsed = parse_requirements(content)
    except RequirementsError as error:
        numbers = [problem.line for problem in error.problems]
        assert numbers == sorted(set(numbers))  # once each, in file order
        assert all(1 <= number <= physical for number in numbers)
        assert all(problem.message for problem in error.problems)
    else:
        numbers = [r.line for r in parsed.requirements]
        assert numbers == sorted(set(numbers))
        assert all(1 <= number <= physical for number in numbers)
        skipped = [s.line for s in parsed.skipped]
        assert skipped == sorted(set(skipped))
        assert set(numbers).isdisjoint(skipped)
