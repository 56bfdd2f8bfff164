"""Every page of the product, found by following its links from Today, in Chromium: no console
error, no content-security-policy violation, no serious or critical accessibility violation
(axe-core), and at phone width nothing that makes the page scroll sideways."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from tests import factories
from tests.browser.axe import axe_script, serious_violations
from tests.browser.conftest import new_page
from tests.browser.office import firm, log_in, simulate
from tests.livesite import live_server

pytestmark = pytest.mark.browser

SKIP = ("/static/", "/api/", "/logout", "/docs", "/openapi")
MAX_PAGES = 60


def _crawl(page: Any, base: str) -> list[str]:
    """The pages reachable from Today by links, one of each kind (ids and queries aside)."""
    seen: set[str] = set()
    found: list[str] = []
    queue = ["/"]
    while queue and len(found) < MAX_PAGES:
        path = queue.pop(0)
        kind = re.sub(r"\d+", "#", urlsplit(path).path)
        if kind in seen:
            continue
        seen.add(kind)
        response = page.goto(base + path)
        if (
            response is None
            or response.status != 200
            or "text/html" not in (response.headers.get("content-type", ""))
        ):
            continue
        found.append(path)
        # Links with `download` (CSV exports, the 3CX template) are files, not pages.
        for href in page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(a => a.href)"
        ):
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != base or parts.path.startswith(SKIP):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def test_every_page(browser: Any, sqlite_store: Store, tmp_path: Path) -> None:
    firm(sqlite_store)
    axe = axe_script()
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        context, page, errors = new_page(browser)
        page.add_init_script(path=str(axe))
        page.goto(f"{base}/login")
        assert serious_violations(page) == [], "/login"
        log_in(page, base)
        simulate(page, "+41 44 668 18 12", "Anna M.", outcome="missed")
        simulate(page, "+49 30 901820", outcome="answered")
        expect(page.locator("#journal .entry")).to_have_count(2)
        pages = _crawl(page, base)
        assert len(pages) >= 20, pages
        problems: dict[str, list[str]] = {}
        for path in pages:
            page.goto(base + path)
            found = serious_violations(page)
            if found:
                problems[path] = found
        assert problems == {}, "\n".join(f"{p}: {v}" for p, v in problems.items())
        assert errors == [], errors
        context.close()

        # The phone in German: the same pages, in the other language, without errors.
        context, phone, errors = new_page(
            browser,
            viewport={"width": 390, "height": 844},
            has_touch=True,
            is_mobile=True,
            locale="de-CH",
        )
        phone.goto(f"{base}/login")
        phone.fill("input[name=login]", "anna")
        phone.fill("input[name=password]", factories.PASSWORD)
        phone.get_by_role("button", name="Anmelden").click()
        phone.wait_for_url(f"{base}/")
        wide = [
            path
            for path in pages
            if phone.goto(base + path)
            and not phone.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
        ]
        assert wide == []
        expect(phone.locator("html")).to_have_attribute("lang", "de-CH")
        assert errors == [], errors
        context.close()


def test_the_watch_catches_a_blocked_inline_handler(
    browser: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    """The check above can fail: an inline handler put into a page is blocked by the content
    security policy, and that is reported."""
    firm(sqlite_store)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        context, page, errors = new_page(browser)
        page.goto(f"{base}/login")
        page.evaluate(
            """() => { const b = document.createElement('button');
                b.id = 'x'; b.setAttribute('onclick', 'window.ran = 1');
                b.textContent = 'x'; document.body.append(b); }"""
        )
        page.click("#x")
        expect(page.locator("#x")).to_be_visible()
        page.wait_for_function("() => true")
        assert page.evaluate("window.ran") is None
        assert any("CSP violation" in e or "Content Security Policy" in e for e in errors), errors
        context.close()
