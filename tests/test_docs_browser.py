"""The docs pages in a real browser, offline: Debian's Chromium, headless, driven by
Playwright, against `packages-api serve`, with every request beyond loopback refused.

The test fails if a page so much as tries to reach another host (a CDN, Google Fonts,
a validator): such requests are aborted and recorded. It needs Chromium (`apt-get install
chromium`; never `playwright install`): without it the test is skipped with the reason,
except under CI=true, where it fails, as the PostgreSQL tests do.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    async_playwright,
)

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-proxy-server",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        message = f"Chromium not found at {path} (apt-get install chromium, or set CHROMIUM)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`packages-api serve` on a free loopback port and a new SQLite file; its base URL."""
    workdir = tmp_path_factory.mktemp("browser")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'packages.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": "1",
    }
    command = [str(Path(sys.executable).with_name("packages-api")), "serve"]
    log = (workdir / "serve.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 (our own command)
        command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve exited: {(workdir / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"serve did not answer in 60 s: {(workdir / 'serve.log').read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Offline:
    """What a page asked for beyond loopback: requests refused here, and loads the page's
    Content-Security-Policy stopped before they reached the network. And script errors."""

    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.refused.append(message.text)

    async def route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in {"data", "blob"} or urlsplit(url).hostname in LOOPBACK:
            await route.continue_()
        else:
            self.refused.append(url)
            await route.abort("blockedbyclient")


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = _chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture
async def offline(browser: Browser) -> AsyncIterator[tuple[BrowserContext, Offline]]:
    context = await browser.new_context(service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    record = Offline()
    await context.route("**/*", record.route)
    try:
        yield context, record
    finally:
        await context.close()


async def _operation_count(server: str) -> int:
    async with httpx.AsyncClient(trust_env=False) as client:
        paths = (await client.get(f"{server}/openapi.json", timeout=10)).json()["paths"]
    return sum(len(operations) for operations in paths.values())


async def test_swagger_ui_renders_every_operation_offline_and_runs_one(
    server: str, offline: tuple[BrowserContext, Offline]
) -> None:
    context, record = offline
    page = await context.new_page()
    record.watch(page)
    await page.goto(f"{server}/docs")

    listing = page.locator("#operations-packages-list_packages")
    await listing.wait_for()
    assert await page.locator(".opblock").count() == await _operation_count(server)
    paths = await page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v4/packages/" in [path.strip() for path in paths]
    tags = await page.locator(".opblock-tag").all_inner_texts()
    assert any(tag.startswith("grid table") for tag in tags)

    # "Try it out" calls the API from the page: the page may talk to its own service.
    await listing.locator(".opblock-summary").click()
    await listing.locator(".try-out__btn").click()
    await listing.locator(".execute").click()
    status = listing.locator(".live-responses-table .response .response-col_status")
    await status.wait_for()
    assert (await status.inner_text()).strip().startswith("200")

    assert record.refused == [], "the docs page tried to reach beyond this service"
    assert record.errors == []


async def test_redoc_renders_every_operation_offline(
    server: str, offline: tuple[BrowserContext, Offline]
) -> None:
    context, record = offline
    page = await context.new_page()
    record.watch(page)
    await page.goto(f"{server}/redoc")

    await page.locator('[data-section-id="tag/packages/operation/list_packages"]').wait_for()
    operations = page.locator('[data-section-id*="/operation/"]')
    assert await operations.count() == await _operation_count(server)
    assert await page.get_by_text("ErrorBody").count() > 0

    assert record.refused == [], "the Redoc page tried to reach beyond this service"
    assert record.errors == []
