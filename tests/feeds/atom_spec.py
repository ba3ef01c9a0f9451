"""RFC 4287's rules as a checker: Appendix B's RELAX NG schema with lxml, the schema's
Schematron assertions as ISO Schematron, and the rules of the RFC's text that a schema
cannot say. `problems(document)` lists every rule a document breaks; [] means valid.

The schema files and their provenance are in schema/ beside this file.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from lxml import etree, isoschematron

ATOM = "http://www.w3.org/2005/Atom"
_ASCC = "http://www.ascc.net/xml/schematron"
_ISO = "http://purl.oclc.org/dsdl/schematron"
_SVRL = "http://purl.oclc.org/dsdl/svrl"
_NS = {"atom": ATOM}

SCHEMA_DIR = Path(__file__).parent / "schema"
_RNG = etree.parse(str(SCHEMA_DIR / "atom.rng"))
RELAX_NG = etree.RelaxNG(_RNG)

# RFC 3339 5.6 date-time; Atom (3.3) wants the "T" and "Z" uppercase.
_RFC3339 = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)"
)
# An absolute IRI (RFC 3987): a scheme, then no character an IRI cannot hold as is, and
# every "%" starting an escape.
_ABSOLUTE_IRI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:"
    r"(?:[^\x00-\x20\x7f-\x9f<>\"{}|\\^`%\ufff0-\uffff]|%[0-9A-Fa-f]{2})*"
)


def _schematron_from_annotations() -> isoschematron.Schematron:
    """Appendix B's `s:rule` annotations (Schematron 1.5) as an ISO Schematron schema.

    Each rule gets its own pattern: in Schematron a node that one rule of a pattern
    matched is not tried against the pattern's later rules, and two of the RFC's rules
    share the context `atom:entry`.
    """
    schema = etree.Element(f"{{{_ISO}}}schema", nsmap={"sch": _ISO})
    etree.SubElement(schema, f"{{{_ISO}}}ns", prefix="atom", uri=ATOM)
    rules = list(_RNG.iter(f"{{{_ASCC}}}rule"))
    assert len(rules) == 3, "Appendix B has three Schematron rules"
    for rule in rules:
        pattern = etree.SubElement(schema, f"{{{_ISO}}}pattern")
        iso_rule = etree.SubElement(pattern, f"{{{_ISO}}}rule", context=rule.get("context"))
        for assertion in rule.iter(f"{{{_ASCC}}}assert"):
            iso = etree.SubElement(iso_rule, f"{{{_ISO}}}assert", test=assertion.get("test"))
            iso.text = assertion.text
    return isoschematron.Schematron(schema, store_report=True)


SCHEMATRON = _schematron_from_annotations()


def _text_rules(root: etree._Element) -> list[str]:
    problems: list[str] = []
    for element in root.iter(f"{{{ATOM}}}id"):
        if not _ABSOLUTE_IRI.fullmatch(element.text or ""):
            problems.append(f"atom:id is not an absolute IRI (4.2.6): {element.text!r}")
    for name in ("updated", "published"):
        for element in root.iter(f"{{{ATOM}}}{name}"):
            if not _RFC3339.fullmatch(element.text or ""):
                problems.append(f"atom:{name} is not an RFC 3339 date-time (3.3): {element.text!r}")
    for element in root.iter(f"{{{ATOM}}}link"):
        if not _ABSOLUTE_IRI.fullmatch(element.get("href", "")):
            problems.append(f"atom:link href is not an IRI (4.2.7.1): {element.get('href')!r}")
    for container in [root, *root.iterfind("atom:entry", _NS)]:
        alternates = Counter(
            (link.get("type"), link.get("hreflang"))
            for link in container.iterfind("atom:link", _NS)
            if link.get("rel", "alternate") == "alternate"
        )
        if any(count > 1 for count in alternates.values()):
            problems.append("more than one alternate link of one type and hreflang (4.1.1)")
    return problems


def problems(document: bytes) -> list[str]:
    """Every RFC 4287 rule the document breaks; raises if it is not well-formed XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    root = etree.fromstring(document, parser)
    found: list[str] = []
    if not RELAX_NG.validate(root):
        found += [f"RELAX NG: {error.message}" for error in RELAX_NG.error_log]
    if not SCHEMATRON.validate(root):
        report = SCHEMATRON.validation_report
        found += [
            f"Schematron: {' '.join((text.text or '').split())}"
            for text in report.iterfind(f".//{{{_SVRL}}}failed-assert/{{{_SVRL}}}text")
        ]
    return found + _text_rules(root)
