"""How wide a badge's text is: measured from a real font, not guessed.

font_widths.json holds every character's advance width in DejaVu Sans, read from the font
file by scripts/badge_font_widths.py (which records the font's version and digest, and
regenerates the table). A text's width is the sum of its characters' advances: the SVG
turns kerning and ligatures off, so a browser lays the text out the same way.

Text goes through `badge_text` first, so that what is measured is what a browser draws:
SVG collapses runs of white space and strips them at the ends, a soft hyphen or a
zero-width joiner takes no room whatever the font says, and a letter followed by a
combining accent is drawn as the precomposed letter where the font has one.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from app.xml_text import xml_chars

_TABLE = Path(__file__).with_name("font_widths.json")


@dataclass(frozen=True)
class FontWidths:
    family: str
    version: str
    units_per_em: int
    advances: dict[int, int]

    def width(self, text: str, size: float) -> float:
        """The advance width of `text` at `size` pixels, `text` as `badge_text` left it.

        A character the font lacks is drawn by whatever font the reader falls back to; it
        is counted as one em, the width of a CJK ideograph, and most fallbacks' widest.
        """
        units = sum(self.advances.get(ord(char), self.units_per_em) for char in text)
        return units * size / self.units_per_em


@functools.cache
def font_widths() -> FontWidths:
    table = json.loads(_TABLE.read_text())
    advances: dict[int, int] = {}
    for first, widths in table["advances"]:
        advances.update(zip(range(first, first + len(widths)), widths, strict=True))
    return FontWidths(table["family"], table["version"], table["units_per_em"], advances)


def badge_text(text: str) -> str:
    """`text` as a badge shows it: XML-safe, composed (NFC), without format and control
    characters, white space collapsed to single spaces and stripped."""
    composed = unicodedata.normalize("NFC", xml_chars(text))
    visible = "".join(
        " " if char.isspace() else char
        for char in composed
        if char.isspace() or unicodedata.category(char) not in {"Cc", "Cf"}
    )
    return " ".join(visible.split())
