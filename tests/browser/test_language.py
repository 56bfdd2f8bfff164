"""Issue 12, item 11: German and English. The browser's language decides until the user picks
one in their profile; the journal's own texts follow the page's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from tests import factories
from tests.browser.conftest import new_page
from tests.browser.office import firm, simulate
from tests.livesite import live_server

pytestmark = pytest.mark.browser


def _log_in(page: Any, base: str, button: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=login]", "anna")
    page.fill("input[name=password]", factories.PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{base}/")
    expect(page.locator("#journal")).to_have_attribute("data-live", "true", timeout=10_000)


def test_german_from_the_browser_and_english_by_choice(
    browser: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    firm(sqlite_store)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        context, page, errors = new_page(browser, locale="de-CH")
        _log_in(page, base, "Anmelden")
        expect(page.locator("html")).to_have_attribute("lang", "de-CH")
        nav = page.get_by_role("navigation", name="Hauptnavigation")
        expect(nav.get_by_role("link", name="Heute")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Anna")
        simulate(page, "+41 44 668 18 12")
        journal = page.get_by_role("complementary", name="Telefonie-Journal")
        entry = journal.locator(".entry").first
        expect(entry.locator(".entry-state")).to_have_text("Klingelt")
        # Times as the locale writes them (Babel's short time; the script uses Intl alike).
        expect(entry.locator(".entry-time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
        expect(entry.get_by_role("img", name="Klingelnder Anruf")).to_be_visible()
        expect(page.locator("#journal-announce")).to_have_text(
            "Anruf klingelt: Anna Müller, Muster AG, 044 668 18 12"
        )
        entry.get_by_role("button", name="Annehmen").click()
        expect(entry.get_by_role("button", name="Auflegen")).to_be_visible()

        # English by choice, whatever the browser says; kept after a reload.
        page.goto(f"{base}/settings/profile")
        page.get_by_label("Sprache, Daten und Zahlen").select_option("en")
        page.get_by_role("button", name="Speichern").click()
        expect(page.get_by_role("status").first).to_have_text("Language and formats saved.")
        page.goto(f"{base}/")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Today")
        ).to_be_visible()
        expect(journal).to_have_count(0)
        english = page.get_by_role("complementary", name="Telephony journal")
        expect(
            english.locator(".entry").first.get_by_role("button", name="Hang up")
        ).to_be_visible()
        expect(english.locator(".entry-time").first).to_have_text(
            re.compile(r"^\d{1,2}:\d\d\s[AP]M$")
        )
        page.goto(f"{base}/calls")
        expect(page.locator("main table tbody tr").first).to_contain_text(
            re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4}")
        )
        context.close()
        assert errors == [], errors
