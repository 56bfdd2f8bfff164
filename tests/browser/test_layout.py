"""Issue 12, items 3 to 6: the journal never hides what the user needs, at desktop, tablet and
phone sizes. Each check looks at what is really on top at a point of the page
(document.elementFromPoint), so a panel lying over a button fails it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from tests.browser.office import firm, inside_window, log_in, put_panel, simulate, uncovered
from tests.livesite import live_server

pytestmark = pytest.mark.browser


def _serve(store: Store, tmp_path: Path) -> Any:
    return live_server(Offhook(Config(data_dir=tmp_path), store))


def test_the_page_keeps_room_for_the_journal(
    page: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    office = firm(sqlite_store)
    with _serve(sqlite_store, tmp_path) as base:
        log_in(page, base)
        simulate(page, "+41 44 668 18 12")
        journal = page.locator("#journal")
        for corner in ("bottom-right", "top-left", "top-right", "bottom-left"):
            put_panel(page, corner=corner)
            # The end of a long form, and the Delete buttons of the Lines page.
            page.goto(f"{base}/addresses/new")
            expect(journal).to_have_attribute("data-corner", corner)
            for name in ("Create address", "Cancel"):
                target = page.get_by_role("main").get_by_text(name, exact=True).last
                assert uncovered(target), f"{name} is under the journal in the {corner}"
            assert uncovered(page.get_by_role("heading", level=1)), corner
            page.goto(f"{base}/settings/lines")
            delete = page.locator(f'a[href="/settings/lines/{office["line"].id}/delete"]')
            assert uncovered(delete), f"Delete is under the journal in the {corner}"
        # A window too narrow to keep the page beside the panel: the page makes room below it.
        page.set_viewport_size({"width": 900, "height": 640})
        put_panel(page, corner="bottom-right", screen="tablet")
        page.goto(f"{base}/addresses/new")
        target = page.get_by_role("main").get_by_text("Create address", exact=True)
        assert uncovered(target)


def test_menus_open_where_they_fit(page: Any, sqlite_store: Store, tmp_path: Path) -> None:
    firm(sqlite_store, projects=8)
    with _serve(sqlite_store, tmp_path) as base:
        log_in(page, base)
        for corner in ("top-left", "bottom-right"):
            put_panel(page, corner=corner, height=300)
            page.reload()
            simulate(page, "+41 44 668 18 12") if corner == "top-left" else None
            journal = page.locator("#journal")
            expect(journal).to_have_attribute("data-corner", corner)
            entry = journal.locator(".entry").first
            entry.get_by_role("button", name="Activity with a project").click()
            menu = page.get_by_role("menu")
            expect(menu).to_be_visible()
            assert inside_window(menu)
            head = menu.locator(".menu-head").first
            assert uncovered(head)
            items = menu.get_by_role("menuitem")
            expect(items).to_have_count(8)
            # Every item can be reached, none is cut off by the panel.
            for index in range(8):
                assert uncovered(items.nth(index)), f"item {index} hidden ({corner})"
            page.mouse.click(640, 400)
            expect(menu).to_have_count(0)


def test_collapsed_journal_sits_in_its_corner_and_keeps_its_size(
    page: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    firm(sqlite_store)
    with _serve(sqlite_store, tmp_path) as base:
        log_in(page, base)
        simulate(page, "+41 44 668 18 12", outcome="missed")
        journal = page.locator("#journal")
        expect(journal).to_be_visible()
        expanded = journal.bounding_box()
        journal.get_by_role("button", name="Collapse journal").click()
        expect(journal).to_have_class("journal collapsed")
        bar = journal.bounding_box()
        # The bar sits in the bottom-right corner, not half-way up the edge.
        assert bar["y"] + bar["height"] == pytest.approx(800 - 16, abs=1)
        assert bar["x"] + bar["width"] == pytest.approx(1280 - 16, abs=1)
        # A smaller window while collapsed, then the usual one again: the kept size is unchanged.
        page.set_viewport_size({"width": 1280, "height": 420})
        bar = journal.bounding_box()
        assert bar["y"] + bar["height"] == pytest.approx(420 - 16, abs=1)
        page.set_viewport_size({"width": 1280, "height": 800})
        journal.get_by_role("button", name="Expand journal").click()
        box = journal.bounding_box()
        assert box["height"] == pytest.approx(expanded["height"], abs=1)
        page.reload()
        expect(journal).to_be_visible()
        assert journal.bounding_box()["height"] == pytest.approx(expanded["height"], abs=1)


def test_geometry_is_kept_per_screen_size_and_always_fits(
    page: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    firm(sqlite_store)
    with _serve(sqlite_store, tmp_path) as base:
        log_in(page, base)
        simulate(page, "+41 44 668 18 12", outcome="missed")
        journal = page.locator("#journal")
        expect(journal).to_be_visible()
        # Collapsed on a phone …
        page.set_viewport_size({"width": 390, "height": 844})
        expect(journal).to_have_attribute("data-screen", "phone")
        journal.get_by_role("button", name="Collapse journal").click()
        expect(journal).to_have_attribute("data-saved", "1")
        # … the desktop panel is still open, where it was.
        page.set_viewport_size({"width": 1280, "height": 800})
        page.reload()
        expect(journal).to_have_attribute("data-screen", "desktop")
        expect(journal).not_to_have_class("journal collapsed")
        # A kept height taller than the window never covers the navigation bar.
        put_panel(page, corner="top-right", height=2000)
        page.reload()
        expect(journal).to_have_attribute("data-corner", "top-right")
        topbar = page.locator(".topbar").bounding_box()
        box = journal.bounding_box()
        assert box["y"] >= topbar["y"] + topbar["height"]
        assert inside_window(journal)
        for link in page.get_by_role("navigation", name="Main").get_by_role("link").all():
            assert uncovered(link)


def test_a_phone_sized_day(phone: Any, sqlite_store: Store, tmp_path: Path) -> None:
    page = phone
    firm(sqlite_store)
    with _serve(sqlite_store, tmp_path) as base:
        log_in(page, base)
        nav = page.get_by_role("navigation", name="Main")
        # Every section is there to tap, nothing to swipe; search is there too.
        for link in nav.get_by_role("link").all():
            assert inside_window(link), link.text_content()
            assert link.bounding_box()["height"] >= 44
        assert nav.evaluate("n => n.scrollWidth <= n.clientWidth")
        expect(page.get_by_role("searchbox", name="Find address or number")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")

        simulate(page, "+41 44 668 18 12")
        journal = page.locator("#journal")
        expect(journal).to_be_visible()
        assert inside_window(journal)
        box = journal.bounding_box()
        assert box["height"] <= 844 * 0.65  # the sheet leaves the page above it usable
        assert box["width"] >= 390 - 16 - 1
        answer = journal.get_by_role("button", name="Answer")
        assert answer.bounding_box()["height"] >= 44
        answer.tap()
        entry = journal.locator(".entry").first
        expect(entry).to_have_attribute("data-state", "connected")
        journal.get_by_role("button", name="Hang up").tap()
        expect(entry).to_have_attribute("data-state", "ended")
        journal.get_by_role("button", name="Collapse journal").tap()
        bar = journal.bounding_box()
        assert bar["height"] < 80
        assert bar["y"] + bar["height"] == pytest.approx(844 - 8, abs=1)
        # The page scrolls clear of the bar: its last button can be tapped.
        page.goto(f"{base}/addresses/new")
        target = page.get_by_role("main").get_by_text("Create address", exact=True)
        assert uncovered(target)
