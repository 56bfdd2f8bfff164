"""Debian's Chromium, driven by Playwright, against a live offhook server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API keeps an event loop running in this
    # thread while it is open, and asyncio tests of later modules need the thread to themselves.
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def _expected(message: Any) -> bool:
    """The console error of a dropped journal stream: every test's server stops under the open
    stream, and one test drops it on purpose (the page reconnects by itself, tested in
    test_journal_stream). Chromium names the URL only in the message's location."""
    url = (message.location or {}).get("url", "")
    return "/api/journal/stream" in url and message.text.startswith("Failed to load resource")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page that fails the test on any JavaScript error, console error or content security
    policy violation (Chromium reports those on the console)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not _expected(message)
            else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"errors on the page: {errors}"
