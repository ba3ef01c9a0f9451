"""Measure a font's advance widths into app/badges/font_widths.json, the table badges size
their text with.

    uv run python scripts/badge_font_widths.py            # DejaVu Sans, Debian's fonts-dejavu-core
    uv run python scripts/badge_font_widths.py --check    # exit 1 when the table is out of date

The table holds each character's advance in font units, read from the font's cmap and
hmtx tables with fontTools, and the font's name, version and file digest. Kerning and
ligatures are left out on purpose: the badges turn both off in their SVG, so the width a
browser lays out is the plain sum of advances, which is what the table adds up.

shields.io measures Verdana; Verdana is not free to ship or install here, so the badges
use DejaVu Sans (a free Bitstream Vera derivative of similar width), which Debian installs
with fontconfig and which the SVG names first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TABLE = Path(__file__).resolve().parent.parent / "app" / "badges" / "font_widths.json"


def _name(font: TTFont, name_id: int) -> str:
    record = font["name"].getName(name_id, 3, 1, 0x409) or font["name"].getName(name_id, 1, 0, 0)
    if record is None:
        raise SystemExit(f"the font has no name record {name_id}")
    return str(record.toUnicode())


def _debian_package(path: Path) -> str | None:
    """`fonts-dejavu-core 2.37-6` when a Debian package owns the file, for the record."""
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        return None
    owner = subprocess.run(  # noqa: S603 (fixed arguments)
        [dpkg, "-S", str(path.resolve())], capture_output=True, text=True, check=False
    )
    if owner.returncode != 0:
        return None
    package = owner.stdout.split(":", 1)[0].strip()
    version = subprocess.run(  # noqa: S603 (fixed arguments)
        [dpkg, "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    )
    return f"{package} {version.stdout.strip()}" if version.returncode == 0 else package


def _runs(advances: dict[int, int]) -> list[list[Any]]:
    """[[first code point, [advance, advance, ...]], ...] over runs of consecutive code
    points: a third of the size of a {code point: advance} object."""
    runs: list[list[Any]] = []
    for code in sorted(advances):
        if runs and runs[-1][0] + len(runs[-1][1]) == code:
            runs[-1][1].append(advances[code])
        else:
            runs.append([code, [advances[code]]])
    return runs


def measure(path: Path) -> dict[str, Any]:
    font = TTFont(path)
    metrics = font["hmtx"]
    advances = {code: metrics[glyph][0] for code, glyph in font.getBestCmap().items()}
    return {
        "family": _name(font, 1),
        "style": _name(font, 2),
        "version": _name(font, 5),
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "debian_package": _debian_package(path),
        "generated_by": "scripts/badge_font_widths.py",
        "units_per_em": font["head"].unitsPerEm,
        "advances": _runs(advances),
    }


def dump(table: dict[str, Any]) -> str:
    """JSON with one run a line, so that a new font version reads as a reviewable diff."""
    head = json.dumps({key: value for key, value in table.items() if key != "advances"}, indent=2)
    runs = ",\n    ".join(json.dumps(run, separators=(",", ":")) for run in table["advances"])
    return f'{head.removesuffix("}").rstrip()},\n  "advances": [\n    {runs}\n  ]\n}}\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--font", type=Path, default=DEFAULT_FONT)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    table = dump(measure(args.font))
    if args.check:
        current = TABLE.read_text() if TABLE.exists() else ""
        if json.loads(current or "{}").get("advances") != json.loads(table)["advances"]:
            print(f"{TABLE} does not match {args.font}", file=sys.stderr)
            return 1
        print(f"{TABLE} matches {args.font}")
        return 0
    TABLE.write_text(table)
    print(f"wrote {TABLE} ({len(table)} bytes) from {args.font}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
