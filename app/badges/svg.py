"""Badges as SVG in the flat style README badges share: a grey label, a colored message.

Every box is as wide as its text measured in the font the SVG names first (widths.py), plus
padding, so text never overflows and never floats in a box too wide. The text is drawn at
ten times its size and scaled down, so a browser lays out each glyph's advance at 110 px,
where rounding to whole pixels costs a tenth of what it would at 11 px. Kerning and
ligatures are off, so the laid-out width is the sum the table adds up.

A badge is an image with a name: `role="img"`, an `aria-label` and a `<title>` say what it
shows (the text drawn twice, shadow and letters, is hidden from screen readers).
The output depends only on the badge, so its ETag (app.conditional.etag_of) is stable.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.badges.widths import badge_text, font_widths
from app.xml_text import escape_attribute, escape_text

BADGE_MEDIA_TYPE = "image/svg+xml"
# Short: a README shows a figure at most five minutes old, and image proxies (GitHub's
# camo) come back for it.
BADGE_CACHE_CONTROL = "public, max-age=300"

HEIGHT = 20
FONT_SIZE = 11
PADDING = 5  # on each side of a text
SCALE = 10  # text is laid out at FONT_SIZE * SCALE and drawn scaled by 1 / SCALE
SPARKLINE_WIDTH = 78  # 52 weeks, 1.5 px apart
_FONT_FAMILY = "'{family}',Verdana,Geneva,sans-serif"

# The flat style's palette, by the names badge writers know.
COLORS = {
    "brightgreen": "#4c1",
    "green": "#97ca00",
    "yellowgreen": "#a4a61d",
    "yellow": "#dfb317",
    "orange": "#fe7d37",
    "red": "#e05d44",
    "blue": "#007ec6",
    "lightgrey": "#9f9f9f",
    "grey": "#555",
}
LABEL_COLOR = COLORS["grey"]
_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")


@dataclass(frozen=True)
class Badge:
    """`color` is a palette name or `#rgb`/`#rrggbb`. With `sparkline` (weekly counts,
    oldest first) the message box draws them as a line instead of the message, which
    still names the badge for screen readers."""

    label: str
    message: str
    color: str
    sparkline: Sequence[int] | None = None

    @property
    def title(self) -> str:
        label, message = badge_text(self.label), badge_text(self.message)
        return f"{label}: {message}" if label else message


def hex_color(color: str) -> str:
    """A palette name or hex color as `#rrggbb`; ValueError for anything else."""
    value = COLORS.get(color.strip().lower(), color.strip())
    if not _HEX_COLOR.fullmatch(value):
        raise ValueError(f"not a badge color: {color!r} (a name in COLORS, or #rgb / #rrggbb)")
    digits = value[1:].lower()
    return "#" + (digits if len(digits) == 6 else "".join(d * 2 for d in digits))


def _is_light(color: str) -> bool:
    """Whether dark text reads better than white on `color` (WCAG relative luminance)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    # Contrast with white (1.05 / (L + 0.05)) against contrast with #333 (L + 0.05) / 0.083.
    return 1.05 / (luminance + 0.05) < (luminance + 0.05) / 0.0833


def _number(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros: same badge, same bytes."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text(text: str, x: float, color: str) -> str:
    """The text centered on `x`, with a one-pixel shadow below it."""
    shadow = "#010101" if color == "#fff" else "#ccc"
    center = _number(x * SCALE)
    content = escape_text(text)
    return (
        f'<text aria-hidden="true" x="{center}" y="150" fill="{shadow}" fill-opacity=".3" '
        f'transform="scale(.1)">{content}</text>'
        f'<text x="{center}" y="140" fill="{color}" transform="scale(.1)">{content}</text>'
    )


def _sparkline(counts: Sequence[int], left: float) -> str:
    values = [max(0, count) for count in counts] or [0]
    if len(values) == 1:
        values *= 2
    top, bottom = 3.5, HEIGHT - 3.5
    peak = max(values) or 1
    step = SPARKLINE_WIDTH / (len(values) - 1)
    points = [
        (left + PADDING + index * step, bottom - (bottom - top) * value / peak)
        for index, value in enumerate(values)
    ]
    line = " ".join(f"{_number(x)},{_number(y)}" for x, y in points)
    floor = _number(bottom)
    area = f"{_number(points[0][0])},{floor} {line} {_number(points[-1][0])},{floor}"
    return (
        f'<polygon points="{area}" fill="#fff" fill-opacity=".25"/>'
        f'<polyline points="{line}" fill="none" stroke="#fff" stroke-width="1.2" '
        f'stroke-linejoin="round" stroke-linecap="round"/>'
    )


def render(badge: Badge) -> bytes:
    """The badge as a standalone SVG document, UTF-8."""
    widths = font_widths()
    color = hex_color(badge.color)
    label, message = badge_text(badge.label), badge_text(badge.message)
    label_width = math.ceil(widths.width(label, FONT_SIZE)) + 2 * PADDING if label else 0
    if badge.sparkline is not None:
        message_width = SPARKLINE_WIDTH + 2 * PADDING
    else:
        message_width = math.ceil(widths.width(message, FONT_SIZE)) + 2 * PADDING
    width = label_width + message_width
    title = escape_attribute(badge.title)
    # Ids unique to the badge: several badges inlined in one HTML page share one id space.
    key = hashlib.blake2b(
        repr((label, message, color, tuple(badge.sparkline or ()))).encode(), digest_size=4
    ).hexdigest()
    message_text_color = "#333" if _is_light(color) else "#fff"
    texts = _text(label, label_width / 2, "#fff") if label else ""
    if badge.sparkline is not None:
        drawing = _sparkline(badge.sparkline, label_width)
    elif message:
        drawing = _text(message, label_width + message_width / 2, message_text_color)
    else:
        drawing = ""
    family = escape_attribute(_FONT_FAMILY.format(family=widths.family))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" '
        f'viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        f'<linearGradient id="s{key}" x2="0" y2="100%">'
        f'<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        f'<stop offset="1" stop-opacity=".1"/>'
        f"</linearGradient>"
        f'<clipPath id="r{key}">'
        f'<rect width="{width}" height="{HEIGHT}" rx="3" fill="#fff"/>'
        f"</clipPath>"
        f'<g clip-path="url(#r{key})">'
        f'<rect width="{label_width}" height="{HEIGHT}" fill="{LABEL_COLOR}"/>'
        f'<rect x="{label_width}" width="{message_width}" height="{HEIGHT}" fill="{color}"/>'
        f'<rect width="{width}" height="{HEIGHT}" fill="url(#s{key})"/>'
        f"</g>"
        f'<g text-anchor="middle" font-family="{family}" font-size="{FONT_SIZE * SCALE}" '
        f'style="font-kerning:none;font-variant-ligatures:none" '
        f'text-rendering="geometricPrecision">'
        f"{texts}{drawing}</g>"
        f"</svg>\n"
    ).encode()


def render_badge(label: str, message: str, color: str) -> bytes:
    """A label and message badge: `render_badge("stars", "1.2k", "blue")`."""
    return render(Badge(label, message, color))
