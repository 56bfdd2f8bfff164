"""The journal as a user meets it, in Chromium: a call rings, is answered, becomes a service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.settings.telephony import TelephonySettings
from offhook.store import Store
from offhook.store.models import Call, Service
from tests import factories
from tests.browser.office import log_in, simulate
from tests.livesite import live_server

pytestmark = pytest.mark.browser

BLUE = "rgb(31, 95, 214)"


@pytest.fixture
def firm(sqlite_store: Store) -> dict[str, Any]:
    store = sqlite_store
    tel = factories.service_type(store)
    factories.telephony(
        store,
        rounding_mode="up",
        rounding_step=5,
        rounding_minimum=0,
        service_type_id=tel.id,
        timezone="Europe/Zurich",
    )
    factories.user_with_line(store)
    contact = factories.address(store)
    own = factories.project(store, "P-101", customer_id=contact.company_id)
    factories.project(store, "P-900")
    return {"store": store, "contact": contact, "project": own}


def test_call_to_service_in_the_browser(page: Any, firm: dict[str, Any], tmp_path: Path) -> None:
    store: Store = firm["store"]
    with live_server(Offhook(Config(data_dir=tmp_path), store)) as base:
        log_in(page, base)
        journal = page.locator("#journal")
        expect(journal).to_be_hidden()  # it appears with the first call of the day

        simulate(page, "+41 44 668 18 12", "Anna M.")
        entry = journal.locator(".entry").first
        expect(entry).to_have_attribute("data-state", "ringing")
        expect(journal).to_be_visible()
        expect(entry.get_by_role("img", name="Call while ringing")).to_be_visible()
        address = entry.locator(".addr")
        expect(address).to_have_text("Anna Müller, Muster AG")
        assert address.evaluate("e => getComputedStyle(e).color") == BLUE
        address.hover()
        hint = page.get_by_role("tooltip")
        expect(hint).to_be_visible()
        expect(hint).to_have_text(
            re.compile(r"Anna Müller\s+Muster AG\s+Bahnhofstrasse 12\s+8001 Zürich")
        )
        expect(entry.locator(".entry-number")).to_have_text("044 668 18 12")

        entry.get_by_role("button", name="Answer").click()
        expect(entry).to_have_attribute("data-state", "connected")
        expect(entry.get_by_role("img", name="Ongoing call")).to_be_visible()
        entry.get_by_role("button", name="Hang up").click()
        expect(entry).to_have_attribute("data-state", "ended")
        expect(entry.get_by_role("img", name="Incoming call")).to_be_visible()

        # Service, with the address's project picked from the arrow beside the button.
        entry.get_by_role("button", name="Service with a project").click()
        menu = entry.get_by_role("menu")
        expect(menu.get_by_role("menuitem").first).to_contain_text("P-101")
        menu.get_by_role("menuitem", name=re.compile("P-101")).click()
        page.wait_for_url(re.compile(r"/services/new\?call=\d+&project=\d+"))
        page.get_by_role("button", name=re.compile("^Save")).click()
        page.wait_for_url(re.compile(r"/services\?day="))

    with store.session() as session:
        call = session.scalars(select(Call)).one()
        service = session.scalars(select(Service)).one()
        settings = TelephonySettings.load(session)
        assert call.connected_at is not None and call.ended_at is not None
        assert service.started_at == call.connected_at
        assert service.ended_at == call.ended_at
        seconds = (call.ended_at - call.connected_at).total_seconds()
        assert service.minutes == settings.billable_minutes(seconds) == 5
        assert service.project_id == firm["project"].id
        assert service.service_type_id == settings.service_type_id
        assert service.call_id == call.id


def test_panel_keeps_its_size_and_snaps_to_the_nearest_corner(
    page: Any, firm: dict[str, Any], tmp_path: Path
) -> None:
    with live_server(Offhook(Config(data_dir=tmp_path), firm["store"])) as base:
        log_in(page, base)
        simulate(page, "+41 44 668 18 12")
        journal = page.locator("#journal")
        expect(journal).to_be_visible()
        before = journal.bounding_box()
        # Drag the panel by its title bar to the upper left part of the window …
        head = journal.locator(".journal-head h2").bounding_box()
        page.mouse.move(head["x"] + 10, head["y"] + 5)
        page.mouse.down()
        page.mouse.move(260, 70, steps=8)
        page.mouse.up()
        expect(journal).to_have_attribute("data-saved", re.compile(r"\d+"))
        saved = journal.get_attribute("data-saved")
        # … and make it bigger by its corner.
        handle = journal.locator(".journal-resize").bounding_box()
        page.mouse.move(handle["x"] + 9, handle["y"] + 9)
        page.mouse.down()
        page.mouse.move(handle["x"] + 89, handle["y"] + 49, steps=8)
        page.mouse.up()
        expect(journal).not_to_have_attribute("data-saved", saved or "")
        resized = journal.bounding_box()
        assert resized["width"] == pytest.approx(before["width"] + 80, abs=2)
        assert resized["height"] == pytest.approx(before["height"] + 40, abs=2)

        page.reload()
        expect(journal).to_be_visible()
        expect(journal).to_have_attribute("data-corner", "top-left")
        placed = journal.bounding_box()
        topbar = page.locator(".topbar").bounding_box()
        assert placed["x"] == pytest.approx(16, abs=1)
        assert placed["y"] == pytest.approx(topbar["height"] + 16, abs=1)
        assert placed["width"] == pytest.approx(resized["width"], abs=2)
        assert placed["height"] == pytest.approx(resized["height"], abs=2)


def test_hostile_caller_name_is_shown_as_text(
    page: Any, firm: dict[str, Any], tmp_path: Path
) -> None:
    hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>'
    with live_server(Offhook(Config(data_dir=tmp_path), firm["store"])) as base:
        log_in(page, base)
        simulate(page, "+49 30 901820", hostile)
        entry = page.locator("#journal .entry").first
        expect(entry.locator(".remote-name")).to_have_text(f"“{hostile}”")
        assert page.evaluate("window.pwned") is None
        assert entry.locator("img, script").count() == 0


def test_today_page_follows_the_journal(page: Any, firm: dict[str, Any], tmp_path: Path) -> None:
    with live_server(Offhook(Config(data_dir=tmp_path), firm["store"])) as base:
        log_in(page, base)
        calls_today = page.locator('[data-stat="calls-today"]')
        expect(calls_today).to_have_text("0")
        simulate(page, "+49 30 901820", outcome="missed")
        expect(calls_today).to_have_text("1")
        expect(page.locator('[data-stat="missed-today"]')).to_have_text("1 missed", timeout=10_000)


def test_long_numbers_and_names_stay_inside_the_panel(
    page: Any, firm: dict[str, Any], tmp_path: Path
) -> None:
    """Issue 8: a 300-digit number pushed the entry out of the panel. Long numbers and names
    wrap or are cut short, at the panel's usual width and at its narrowest."""
    store: Store = firm["store"]
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    with live_server(Offhook(Config(data_dir=tmp_path), store)) as base:
        log_in(page, base)
        journal = page.locator("#journal")
        simulate(page, "9" * 300)
        simulate(page, "+41 44 668 18 13", "W" * 300)
        simulate(page, "1" * 300, "Ö " * 150)
        entries = journal.locator(".entry")
        expect(entries).to_have_count(3)
        for width in (None, 300):
            if width is not None:
                journal.evaluate(f"e => {{ e.style.width = '{width}px'; }}")
            panel = journal.locator(".journal-entries").bounding_box()
            for index in range(3):
                entry = entries.nth(index)
                for part in (entry, entry.locator(".entry-top"), entry.locator(".entry-who")):
                    box = part.bounding_box()
                    assert box["x"] >= panel["x"] - 0.5
                    assert box["x"] + box["width"] <= panel["x"] + panel["width"] + 0.5
                for part in entry.locator(".entry-top > *, .entry-who > *").all():
                    box = part.bounding_box()
                    assert box["x"] + box["width"] <= panel["x"] + panel["width"] + 0.5, (
                        part.get_attribute("class")
                    )
                # Nothing inside scrolls sideways either.
                assert entry.evaluate("e => e.scrollWidth <= e.clientWidth")
        assert console == []
