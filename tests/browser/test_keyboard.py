"""Issue 12, item 7: the journal by keyboard alone, and ringing calls told to screen readers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from tests.browser.office import firm, log_in, simulate
from tests.livesite import live_server

pytestmark = pytest.mark.browser


def _focused(page: Any) -> str:
    return str(
        page.evaluate(
            """() => { const e = document.activeElement;
                return (e.getAttribute('aria-label') || e.textContent || e.tagName).trim(); }"""
        )
    )


def test_the_journal_by_keyboard(page: Any, sqlite_store: Store, tmp_path: Path) -> None:
    firm(sqlite_store, projects=3)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        log_in(page, base)
        simulate(page, "+49 30 901820", outcome="missed")
        simulate(page, "+41 44 668 18 12")
        journal = page.locator("#journal")
        entries = journal.locator(".entry")
        expect(entries).to_have_count(2)
        # Ringing calls are told to screen readers.
        announcer = page.locator("#journal-announce")
        expect(announcer).to_have_attribute("aria-live", "assertive")
        expect(announcer).to_have_text("Call ringing: Anna Müller, Muster AG, 044 668 18 12")

        # The journal comes first in the tab order, by a skip link.
        page.keyboard.press("Tab")
        assert _focused(page) == "Go to the telephony journal (Alt+J)"
        page.keyboard.press("Enter")
        expect(entries.first).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(entries.nth(1)).to_be_focused()
        page.keyboard.press("ArrowUp")
        expect(entries.first).to_be_focused()

        # Alt+J from anywhere, Escape back to where one was.
        search = page.get_by_role("searchbox", name="Find address or number")
        search.focus()
        page.keyboard.press("Alt+KeyJ")
        expect(entries.first).to_be_focused()
        page.keyboard.press("Escape")
        expect(search).to_be_focused()

        # A project menu: opened with Enter, arrows move, Escape closes it and returns.
        arrow = entries.first.get_by_role("button", name="Activity with a project")
        arrow.focus()
        page.keyboard.press("Enter")
        items = page.get_by_role("menu").get_by_role("menuitem")
        expect(items).to_have_count(3)
        expect(items.first).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(items.nth(1)).to_be_focused()
        page.keyboard.press("End")
        expect(items.nth(2)).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(items.first).to_be_focused()
        page.keyboard.press("Escape")
        expect(page.get_by_role("menu")).to_have_count(0)
        expect(arrow).to_be_focused()
        expect(arrow).to_have_attribute("aria-expanded", "false")
        # A call arriving meanwhile redraws the list; the keyboard stays on the same button.
        simulate(page, "+41 44 111 22 33", outcome="missed")
        expect(entries).to_have_count(3)
        expect(entries.nth(1).get_by_role("button", name="Activity with a project")).to_be_focused()

        # The panel: to another corner and bigger, by keyboard, and kept.
        expect(journal).to_have_attribute("data-corner", "bottom-right")
        move = journal.get_by_role("button", name="Move journal to another corner")
        move.focus()
        page.keyboard.press("ArrowUp")
        expect(journal).to_have_attribute("data-corner", "top-right")
        page.keyboard.press("ArrowLeft")
        expect(journal).to_have_attribute("data-corner", "top-left")
        width = journal.bounding_box()["width"]
        journal.get_by_role("button", name="Resize journal").focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert journal.bounding_box()["width"] == pytest.approx(width + 80, abs=1)
        # Two moves and two steps of size, each kept.
        expect(journal).to_have_attribute("data-saved", "4")
        page.reload()
        expect(journal).to_have_attribute("data-corner", "top-left")
        assert journal.bounding_box()["width"] == pytest.approx(width + 80, abs=1)
