"""README.md is the front door, and it lives outside the docs site, so `mkdocs build
--strict` does not check its links: this does. Every relative link in it must name a file
of the repository, and an anchor must be a heading id of that page as the site makes it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import markdown
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# [text](target) outside code; the target stops at whitespace or the closing parenthesis.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def relative_links() -> list[str]:
    text = re.sub(r"```.*?```", "", README.read_text(), flags=re.DOTALL)
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto: ...
    ]


def heading_ids(page: Path) -> set[str]:
    """The ids the site gives the page's headings (the same markdown and toc extension)."""
    md = markdown.Markdown(extensions=["toc", "attr_list", "tables", "pymdownx.superfences"])
    md.convert(page.read_text())
    ids: set[str] = set()

    def walk(tokens: list[dict[str, Any]]) -> None:
        for token in tokens:
            ids.add(token["id"])
            walk(token["children"])

    walk(md.toc_tokens)
    return ids


def test_the_readme_links_into_every_page_of_the_site() -> None:
    linked = {target.partition("#")[0] for target in relative_links()}
    pages = {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")}

    assert sorted(pages - linked) == []


@pytest.mark.parametrize("target", relative_links())
def test_a_readme_link_leads_somewhere(target: str) -> None:
    path, _, anchor = target.partition("#")
    page = (README.parent / path) if path else README

    assert page.is_file(), f"{target}: no file {path}"
    if anchor:
        assert anchor in heading_ids(page), f"{target}: {path} has no heading #{anchor}"
