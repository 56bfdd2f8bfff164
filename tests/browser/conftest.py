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


# Every content-security-policy violation is reported as a console error, on every page and in
# every frame, whether or not Chromium itself would log it (an inline handler that is blocked
# fails silently otherwise: a click or a change simply does nothing).
CSP_WATCH = """document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective}`
    + ` blocked ${event.blockedURI || "inline code"}`
    + ` at ${event.sourceFile || location.href}:${event.lineNumber}`);
}, true);"""


def watch(page: Any) -> list[str]:
    """Collect the page's JavaScript errors, console errors and CSP violations."""
    errors: list[str] = []
    page.add_init_script(script=CSP_WATCH)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not _expected(message)
            else None
        ),
    )
    return errors


def new_page(browser: Any, **options: Any) -> tuple[Any, Any, list[str]]:
    """A context and page (desktop-sized unless told), watched by `watch`."""
    settings: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}
    settings.update(options)
    context = browser.new_context(**settings)
    page = context.new_page()
    return context, page, watch(page)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page that fails the test on any JavaScript error, console error or content security
    policy violation."""
    context, page, errors = new_page(browser)
    yield page
    context.close()
    assert not errors, f"errors on the page: {errors}"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone-sized touch screen (390 x 844), failing the test on errors as `page` does."""
    context, page, errors = new_page(
        browser, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    yield page
    context.close()
    assert not errors, f"errors on the page: {errors}"
