"""Badges in a real browser: Debian's Chromium, headless, as a README shows them.

Each kind is loaded as an image and screenshotted: the picture has the size the SVG
declares and is not blank. Then the text: inlined in a page, each text's laid-out width
(getComputedTextLength) matches the width the badge computed from its font table, its ink
(getBBox) stays inside its colored box, and Chromium says
the glyphs came from DejaVu Sans, the font the table measured. Text drawn by hypothesis
from the scripts whose width is the sum of their letters' (Latin, Greek, Cyrillic) checks
that for any package data, not just ours.

The browser runs on its own thread and event loop, so that the hypothesis test (a plain
function) can drive it.
"""

from __future__ import annotations

import asyncio
import base64
import io
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from playwright.async_api import Browser, Page, Playwright, async_playwright

from app.badges import KINDS, Badge, BadgeFacts, badge_for, render
from app.badges.svg import FONT_SIZE, HEIGHT, PADDING, hex_color
from app.badges.widths import badge_text, font_widths
from tests.test_docs_browser import CHROMIUM_ARGS, TIMEOUT_MS, _chromium

T = TypeVar("T")

# How far the browser's laid-out width may be from the table's sum, in px: Chromium
# positions glyphs at fractions of a pixel, at 110 px, scaled by 1/10.
TOLERANCE = 0.05

FACTS = BadgeFacts(
    stars=48_213,
    version="5.1.2",
    django_versions=["4.2", "5.0", "5.1", "5.2"],
    python_versions=["3.10", "3.11", "3.12", "3.13"],
    status="stale",
    commits_over_52=[3, 0, 0, 5, 12, 7, 1, 0, 0, 0, 2, 4, 8, 9, 3] * 3 + [0] * 6 + [14],
)

MEASURE = """
(svgs) => {
  document.body.innerHTML = svgs.join("<br>");
  return [...document.querySelectorAll("svg")].map((svg) => ({
    width: svg.width.baseVal.value,
    height: svg.height.baseVal.value,
    boxes: [...svg.querySelectorAll("g[clip-path] > rect")].slice(0, 2).map(
      (rect) => ({x: rect.x.baseVal.value, width: rect.width.baseVal.value})),
    texts: [...svg.querySelectorAll("text:not([aria-hidden])")].map((text) => {
      const box = text.getBBox();
      return {content: text.textContent, length: text.getComputedTextLength() / 10,
              anchor: text.x.baseVal[0].value / 10, x: box.x / 10, width: box.width / 10};
    }),
  }));
}
"""


class BrowserThread:
    """Chromium driven by Playwright on a thread of its own; `run` waits for a coroutine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)

    def start(self, executable: str) -> Page:
        async def launch() -> tuple[Playwright, Browser, Page]:
            playwright = await async_playwright().start()
            browser = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
            )
            page = await browser.new_page(device_scale_factor=1)
            page.set_default_timeout(TIMEOUT_MS)
            # Nothing beyond this page: a badge that fetched a font or an image would fail.
            await page.route("**/*", lambda route: route.abort("blockedbyclient"))
            return playwright, browser, page

        self.playwright, self.browser, self.page = self.run(launch())
        return self.page

    def stop(self) -> None:
        async def close() -> None:
            await self.browser.close()
            await self.playwright.stop()

        try:
            self.run(close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
            self.loop.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[BrowserThread]:
    executable = _chromium()
    browser = BrowserThread()
    browser.start(executable)
    try:
        yield browser
    finally:
        browser.stop()


def screenshot(chromium: BrowserThread, svg: bytes) -> Image.Image:
    """The badge as a README shows it: an <img> of the SVG, screenshotted at 1 px per px."""

    async def shoot() -> bytes:
        page = chromium.page
        source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
        await page.set_content(
            f'<body style="margin:0;background:#fff"><img id="badge" src="{source}"></body>'
        )
        image = page.locator("#badge")
        complete = await image.evaluate("(img) => img.decode().then(() => img.naturalWidth)")
        assert complete > 0, "the browser could not decode the SVG"
        return await image.screenshot(type="png")

    return Image.open(io.BytesIO(chromium.run(shoot()))).convert("RGB")


def declared_size(svg: bytes) -> tuple[int, int]:
    head = svg.split(b">", 1)[0].decode()
    width = int(head.split(' width="', 1)[1].split('"', 1)[0])
    height = int(head.split(' height="', 1)[1].split('"', 1)[0])
    return width, height


def measure(chromium: BrowserThread, svgs: list[bytes]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = chromium.run(
        chromium.page.evaluate(MEASURE, [svg.decode() for svg in svgs])
    )
    return result


def assert_text_fits(badge: Badge, layout: dict[str, Any]) -> None:
    """Each text is as wide as the table says, and inside its box with its padding."""
    widths = font_widths()
    label, message = badge_text(badge.label), badge_text(badge.message)
    label_box, message_box = layout["boxes"]
    expected = [(label, label_box)] if label else []
    if message and badge.sparkline is None:
        expected.append((message, message_box))
    assert [text["content"] for text in layout["texts"]] == [content for content, _ in expected]
    for text, (content, box) in zip(layout["texts"], expected, strict=True):
        width = widths.width(content, FONT_SIZE)
        assert abs(text["length"] - width) <= TOLERANCE, (text, width)
        # The advances, centered on the anchor, leave the padding free on both sides ...
        left, right = text["anchor"] - text["length"] / 2, text["anchor"] + text["length"] / 2
        assert left >= box["x"] + PADDING - TOLERANCE, (text, box)
        assert right <= box["x"] + box["width"] - PADDING + TOLERANCE, (text, box)
        # ... and the ink (getBBox) may reach past the advances into the padding, as a "J" hangs
        # left, but never out of the box.
        assert text["x"] >= box["x"], (text, box)
        assert text["x"] + text["width"] <= box["x"] + box["width"], (text, box)
    assert layout["height"] == HEIGHT
    assert layout["width"] == sum(box["width"] for box in layout["boxes"])


def colors_near(picture: Image.Image, color: str, tolerance: int = 40) -> int:
    target = tuple(int(hex_color(color)[i : i + 2], 16) for i in (1, 3, 5))
    return sum(
        count
        for count, pixel in picture.getcolors(picture.width * picture.height) or []
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, target, strict=True))
    )


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_at_its_declared_size_and_is_not_blank(
    chromium: BrowserThread, kind: str
) -> None:
    badge = badge_for(kind, FACTS)
    svg = render(badge)
    picture = screenshot(chromium, svg)

    assert picture.size == declared_size(svg)
    assert len(picture.getcolors(picture.width * picture.height) or []) > 20
    # The grey label and the message's color each fill a good part of the picture, and
    # there is light text on them.
    area = picture.width * picture.height
    assert colors_near(picture, "grey") > area * 0.15
    assert colors_near(picture, badge.color) > area * 0.15
    assert colors_near(picture, "#fff", tolerance=60) > 20
    [layout] = measure(chromium, [svg])
    assert_text_fits(badge, layout)


def test_unknown_facts_render_too(chromium: BrowserThread) -> None:
    for kind in KINDS:
        badge = badge_for(kind, BadgeFacts())
        svg = render(badge)
        assert screenshot(chromium, svg).size == declared_size(svg)
        [layout] = measure(chromium, [svg])
        assert_text_fits(badge, layout)


def test_the_glyphs_come_from_the_font_the_table_measured(chromium: BrowserThread) -> None:
    async def fonts() -> list[dict[str, Any]]:
        page = chromium.page
        await page.set_content(render(badge_for("django", FACTS)).decode())
        session = await page.context.new_cdp_session(page)
        await session.send("DOM.enable")
        await session.send("CSS.enable")
        document = await session.send("DOM.getDocument")
        node = await session.send(
            "DOM.querySelector",
            {"nodeId": document["root"]["nodeId"], "selector": "text:not([aria-hidden])"},
        )
        used = await session.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
        await session.detach()
        fonts: list[dict[str, Any]] = used["fonts"]
        return fonts

    assert [font["familyName"] for font in chromium.run(fonts())] == [font_widths().family]


def test_kerning_pairs_are_not_kerned(chromium: BrowserThread) -> None:
    """ "AV", "To", "LT" are kerning pairs in DejaVu Sans: kerned, they would come out
    narrower than the table's sum."""
    badge = Badge("AVAVAV", "To LT Wa", "blue")
    [layout] = measure(chromium, [render(badge)])
    assert_text_fits(badge, layout)


# Scripts whose letters do not change shape with their neighbours: their width is the sum
# of their letters'. (Arabic's joining forms and Indic conjuncts are not.)
SIMPLE_SCRIPTS = st.characters(
    codec="utf-8",
    categories=["Lu", "Ll", "Nd", "Po", "Pd", "Ps", "Pe", "Sm", "Sc", "Zs"],
    max_codepoint=0x04FF,
).filter(lambda char: ord(char) in font_widths().advances)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.text(SIMPLE_SCRIPTS, max_size=30), st.text(SIMPLE_SCRIPTS, max_size=30)),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_fits_its_box(chromium: BrowserThread, texts: list[tuple[str, str]]) -> None:
    badges = [Badge(label, message, "blue") for label, message in texts]
    for badge, layout in zip(badges, measure(chromium, [render(b) for b in badges]), strict=True):
        assert_text_fits(badge, layout)
