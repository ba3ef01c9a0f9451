"""Text that goes into an XML document we write (Atom feeds, SVG badges): what XML 1.0 can
carry, and escaping.

Package descriptions, titles and versions come from upstream unchecked, so they can hold
anything a Python `str` can: NUL and other C0 controls, lone surrogates, U+FFFE. XML 1.0
has no way to write those, not even as character references (`&#0;` is a fatal error for
every conforming parser), so they are dropped. So are DEL and the C1 controls, which XML
1.0 allows but discourages (section 2.2): in a package description they are mojibake, and
feed readers differ on them.
"""

from __future__ import annotations

import re

# XML 1.0 (5th ed.) section 2.2 `Char`, minus the discouraged DEL and C1 controls.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
# In an attribute a parser turns a raw tab or newline into a space (attribute-value
# normalization), so they travel as character references to come back unchanged.
_ATTRIBUTE_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


def xml_chars(value: str) -> str:
    """`value` without the characters an XML 1.0 document cannot carry."""
    return _NOT_XML_CHAR.sub("", value)


def escape_text(value: str) -> str:
    """Character data for an element's content: XML-safe, and read back exactly.

    `>` is escaped too, so a `]]>` in the value cannot end anything; `\\r` travels as a
    character reference, since a parser would otherwise turn it into `\\n`.
    """
    return xml_chars(value).translate(_TEXT_ESCAPES)


def escape_attribute(value: str) -> str:
    """A double-quoted attribute value: XML-safe, and read back exactly."""
    return xml_chars(value).translate(_ATTRIBUTE_ESCAPES)
