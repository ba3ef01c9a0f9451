"""Badges say what a package's facts say, in well-formed, accessible SVG sized by a real
font's measured widths. (What a browser makes of them: test_badges_browser.py.)"""

from __future__ import annotations

import os
import re
import sys
import xml.etree.ElementTree as ElementTree
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from app.badges import (
    KINDS,
    Badge,
    BadgeFacts,
    activity_badge,
    badge_for,
    compact_number,
    django_badge,
    python_badge,
    render,
    render_badge,
    stars_badge,
    status_badge,
    version_badge,
)
from app.badges.svg import FONT_SIZE, HEIGHT, PADDING, SPARKLINE_WIDTH, hex_color
from app.badges.widths import badge_text, font_widths
from app.conditional import etag_of

ROOT = Path(__file__).resolve().parents[2]
SVG = {"svg": "http://www.w3.org/2000/svg"}
INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
any_text = st.text(st.characters(exclude_categories=()), max_size=60)

FACTS = BadgeFacts(
    stars=1234,
    version="2.1.0rc1",
    django_versions=["5.1", "4.2", "5.0"],
    python_versions=["3.12", "3.9", "3.10", "3.11"],
    status="active",
    commits_over_52=[0, 1, 4, 2, 0, 0, 7, 3] * 6 + [1, 0, 2, 9],
)


def parse(svg: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(svg, parser)


def box_widths(root: etree._Element) -> list[float]:
    return [float(rect.get("width")) for rect in root.findall("svg:g/svg:rect", SVG)[:2]]


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1k"),
        (1049, "1k"),
        (1050, "1.1k"),
        (1234, "1.2k"),
        (9949, "9.9k"),
        (9950, "10k"),
        (12_345, "12k"),
        (999_499, "999k"),
        (999_500, "1M"),
        (1_250_000, "1.3M"),
        (2**31 - 1, "2.1G"),
        (-1500, "-1.5k"),
    ],
)
def test_numbers_are_compact(number: int, shown: str) -> None:
    assert compact_number(number) == shown


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_a_compact_number_has_three_digits_at_most_and_is_off_by_under_five_percent(
    number: int,
) -> None:
    shown = compact_number(number)
    match = re.fullmatch(r"(-?)(\d{1,3}(?:\.\d)?)([kMGTPE]?)", shown)
    assert match, shown
    sign, digits, unit = match.groups()
    assert len(digits.replace(".", "")) <= 3 if unit else digits == str(abs(number))
    value = Decimal(digits) * 1000 ** ("kMGTPE".index(unit) + 1 if unit else 0)
    assert abs(value - abs(number)) <= Decimal("0.05") * abs(number)
    assert (sign == "-") == (number < 0)


def test_each_kind_says_what_the_facts_say() -> None:
    said = {kind: badge_for(kind, FACTS) for kind in KINDS}

    assert said["stars"] == Badge("stars", "1.2k", "blue")
    assert said["version"] == Badge("pypi", "v2.1.0rc1", "orange")
    assert said["django"] == Badge("django", "4.2 | 5.0 | 5.1", "#0c4b33")
    assert said["python"] == Badge("python", "3.9 | 3.10 | 3.11 | 3.12", "#3776ab")
    assert said["status"] == Badge("maintenance", "active", "brightgreen")
    assert said["activity"].label == "activity"
    assert said["activity"].message == "114 commits in 52 weeks"
    assert said["activity"].sparkline == tuple(FACTS.commits_over_52)


def test_what_is_not_known_says_unknown_in_grey() -> None:
    empty = BadgeFacts()
    for kind in KINDS:
        badge = badge_for(kind, empty)
        assert (badge.message, badge.color) == ("unknown", "lightgrey"), kind
        assert badge.sparkline is None


def test_an_unknown_kind_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        badge_for("downloads", FACTS)


@pytest.mark.parametrize(
    ("status", "color"),
    [
        ("active", "brightgreen"),
        ("stale", "yellow"),
        ("inactive", "orange"),
        ("archived", "red"),
        ("deprecated", "red"),
        ("unknown", "lightgrey"),
        ("Something else", "lightgrey"),
    ],
)
def test_status_colors(status: str, color: str) -> None:
    assert status_badge(status).color == color


def test_versions_are_sorted_by_number_and_listed_once() -> None:
    assert django_badge(["5.0", "4.2", "5.0", " 1.11 "]).message == "1.11 | 4.2 | 5.0"
    assert python_badge(["3.10", "3.9", "2.7"]).message == "2.7 | 3.9 | 3.10"


def test_versions_badge_reads_stable_prerelease_and_legacy_versions() -> None:
    assert version_badge("5.1") == Badge("pypi", "v5.1", "blue")
    assert version_badge("1.0.dev3").color == "orange"
    assert version_badge("release-candidate").message == "release-candidate"
    assert version_badge(None).message == "unknown"


def test_stars_badge() -> None:
    assert stars_badge(0).message == "0"
    assert stars_badge(None).message == "unknown"


def test_a_badge_is_an_accessible_image() -> None:
    root = parse(render_badge("stars", "1.2k", "blue"))

    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "stars: 1.2k"
    assert root.findtext("svg:title", namespaces=SVG) == "stars: 1.2k"
    drawn = root.findall(".//svg:text", SVG)
    assert [t.text for t in drawn] == ["stars", "stars", "1.2k", "1.2k"]
    assert [t.get("aria-hidden") for t in drawn] == ["true", None, "true", None]


def test_the_font_measured_is_the_font_named_first() -> None:
    root = parse(render_badge("stars", "1.2k", "blue"))
    family = root.find(".//svg:g[@font-family]", SVG).get("font-family")

    assert family.split(",")[0] == "'DejaVu Sans'" == f"'{font_widths().family}'"
    assert "font-kerning:none" in root.find(".//svg:g[@font-family]", SVG).get("style")


def test_boxes_are_the_measured_text_plus_padding() -> None:
    widths = font_widths()
    root = parse(render_badge("stars", "1.2k", "blue"))
    label_width, message_width = box_widths(root)

    # "stars" in DejaVu Sans: s 1067, t 803, a 1255, r 842, s 1067 units of 2048.
    assert widths.width("stars", FONT_SIZE) == pytest.approx(
        (1067 + 803 + 1255 + 842 + 1067) * 11 / 2048
    )
    assert label_width == -(-widths.width("stars", FONT_SIZE) // 1) + 2 * PADDING
    assert message_width == -(-widths.width("1.2k", FONT_SIZE) // 1) + 2 * PADDING
    assert float(root.get("width")) == label_width + message_width
    assert float(root.get("height")) == HEIGHT
    assert root.get("viewBox") == f"0 0 {root.get('width')} {HEIGHT}"
    wide = parse(render_badge("stars", "WWWWWWWWWW", "blue"))
    assert box_widths(wide)[1] > message_width


@given(label=any_text, message=any_text, color=st.sampled_from(["blue", "#fff", "#0c4b33"]))
def test_any_text_makes_a_well_formed_badge_that_names_itself(
    label: str, message: str, color: str
) -> None:
    svg = render(Badge(label, message, color))
    root = parse(svg)
    ElementTree.fromstring(svg)  # noqa: S314 (our document; expat agrees it is XML)

    title = (
        f"{badge_text(label)}: {badge_text(message)}" if badge_text(label) else badge_text(message)
    )
    assert root.get("aria-label") == title
    assert root.findtext("svg:title", namespaces=SVG) == title
    assert float(root.get("width")) >= 2 * PADDING


def test_badge_text_is_what_a_browser_draws() -> None:
    assert badge_text("  a \t\n b  ") == "a b"
    assert badge_text("so\xadft\u200bhy\u200dphen\ufeff") == "softhyphen"
    assert badge_text("e\u0301") == "\xe9"
    assert badge_text("nul\x00 \x1b[31m") == "nul [31m"


def test_light_backgrounds_get_dark_text() -> None:
    def message_fill(color: str) -> str:
        return parse(render_badge("a", "b", color)).findall(".//svg:text", SVG)[-1].get("fill")

    assert message_fill("blue") == "#fff"
    assert message_fill("#0c4b33") == "#fff"
    assert message_fill("#fff") == "#333"
    assert message_fill("yellow") == "#333"


@pytest.mark.parametrize("color", ["", "bleu", "#12", "#12345g", "red;fill:url(x)", "javascript:"])
def test_a_color_that_is_no_color_is_refused(color: str) -> None:
    with pytest.raises(ValueError, match="not a badge color"):
        hex_color(color)


def test_hex_colors_are_spelled_one_way() -> None:
    assert hex_color("brightgreen") == "#44cc11"
    assert hex_color(" #ABC ") == "#aabbcc"


def test_the_activity_sparkline_draws_each_week_inside_the_message_box() -> None:
    root = parse(render(activity_badge(FACTS.commits_over_52)))
    label_width, message_width = box_widths(root)
    points = [
        tuple(map(float, point.split(",")))
        for point in root.find(".//svg:polyline", SVG).get("points").split()
    ]

    assert message_width == SPARKLINE_WIDTH + 2 * PADDING
    assert len(points) == 52
    xs = [x for x, _ in points]
    assert xs == sorted(xs)
    assert xs[0] == label_width + PADDING
    assert xs[-1] == pytest.approx(label_width + PADDING + SPARKLINE_WIDTH)
    peak = FACTS.commits_over_52.index(max(FACTS.commits_over_52))
    assert min(y for _, y in points) == points[peak][1] == 3.5
    assert max(y for _, y in points) == 16.5
    assert root.get("aria-label") == "activity: 114 commits in 52 weeks"


@given(st.lists(INT32, max_size=80))
def test_any_weekly_counts_draw_inside_the_badge(counts: list[int]) -> None:
    root = parse(render(activity_badge(counts)))
    line = root.find(".//svg:polyline", SVG)
    if not counts:
        assert line is None
        assert root.get("aria-label") == "activity: unknown"
        return
    width = float(root.get("width"))
    for point in line.get("points").split():
        x, y = map(float, point.split(","))
        assert 0 <= x <= width
        assert 0 <= y <= HEIGHT


def test_the_same_badge_gives_the_same_bytes_and_etag() -> None:
    first = render(badge_for("activity", FACTS))
    assert first == render(badge_for("activity", FACTS))
    assert etag_of(first) == etag_of(render(badge_for("activity", FACTS)))
    assert etag_of(first) != etag_of(render(badge_for("stars", FACTS)))


def test_ids_differ_between_badges_so_they_can_share_a_page() -> None:
    ids = [
        {
            element.get("id")
            for element in parse(render(badge_for(kind, FACTS))).iter()
            if element.get("id")
        }
        for kind in KINDS
    ]
    assert all(len(badge_ids) == 2 for badge_ids in ids)
    assert len(set().union(*ids)) == 2 * len(KINDS)


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def test_the_committed_width_table_matches_the_font() -> None:
    """The table is data generated from the font; a new font version means regenerating it
    (`uv run python scripts/badge_font_widths.py`)."""
    if not DEJAVU.is_file():
        message = f"{DEJAVU} is missing (apt-get install fonts-dejavu-core)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import badge_font_widths  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    measured = badge_font_widths.measure(DEJAVU)
    widths = font_widths()
    assert (measured["family"], measured["version"]) == (widths.family, widths.version)
    assert badge_font_widths.dump(measured) == (ROOT / "app/badges/font_widths.json").read_text()
