"""The unbilled calls in Chromium: booking from the list (the row goes, the journal shows the
call booked, also after a reload), marking one not billable, and the charts at desktop and
phone width."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from offhook.app import Offhook
from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.calls.recorder import record
from offhook.settings.config import Config
from offhook.store import Store
from offhook.store.models import Line
from tests.browser.test_journal_panel import firm, log_in
from tests.livesite import live_server

pytestmark = pytest.mark.browser
__all__ = ["firm"]  # the fixture, shared with the journal panel's tests

# Screenshots for a look by eye, when asked for: OFFHOOK_SCREENSHOTS=/some/folder
SHOTS = os.environ.get("OFFHOOK_SCREENSHOTS")


def answered_call(store: Store, ref: str, minutes_ago: int, talk: int) -> int:
    """A call of today on anna's line (the firm's only line), answered and talked `talk` s."""
    with store.session() as session:
        line_id = session.scalars(select(Line.id)).one()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    connected = start + timedelta(seconds=4)
    events = [
        CallEvent(line_id, ref, Direction.INCOMING, CallState.RINGING, start, "+41446681812"),
        CallEvent(line_id, ref, Direction.INCOMING, CallState.CONNECTED, connected),
        CallEvent(
            line_id,
            ref,
            Direction.INCOMING,
            CallState.ENDED,
            connected + timedelta(seconds=talk),
            end_reason=EndReason.ANSWERED,
        ),
    ]
    with store.session() as session:
        for event in events:
            change = record(session, event)
        return change.call_id


def test_booking_and_marking_from_the_list(page: Any, firm: dict[str, Any], tmp_path: Path) -> None:
    store: Store = firm["store"]
    booked = answered_call(store, "c1", 40, 250)
    marked = answered_call(store, "c2", 20, 30)
    with live_server(Offhook(Config(data_dir=tmp_path), store)) as base:
        log_in(page, base)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Unbilled").click()
        page.wait_for_url(f"{base}/unbilled")
        rows = page.locator("table.unbilled tbody tr")
        expect(rows).to_have_count(2)
        row = page.locator(f'tr[data-call="{booked}"]')
        expect(row.locator(".addr")).to_have_text("Anna Müller, Muster AG")

        row.get_by_role("link", name="Book service").click()
        page.wait_for_url(re.compile(r"/services/new\?call=\d+&project=\d+"))
        expect(page.locator("select[name=project_id] option:checked")).to_contain_text("P-101")
        expect(page.locator("input[name=start]")).not_to_have_value("")
        page.get_by_role("button", name=re.compile("^Save")).click()
        page.wait_for_url(f"{base}/unbilled")
        expect(page.locator(f'tr[data-call="{booked}"]')).to_have_count(0)
        expect(rows).to_have_count(1)

        journal_entry = page.locator(f'#journal .entry[data-call="{booked}"]')
        expect(journal_entry.get_by_role("link", name="✓ Service")).to_be_visible()

        other = page.locator(f'tr[data-call="{marked}"]')
        reason = other.get_by_label("Why it is not billable (optional)")
        reason.fill("Courtesy call")
        # The journal panel floats over the right of the page; Enter sends the reason.
        reason.press("Enter")
        expect(page.get_by_text("Nothing unbilled")).to_be_visible()
        expect(page.locator(f'#journal .entry[data-call="{marked}"]')).to_contain_text(
            "Not billable"
        )

        page.reload()
        expect(page.get_by_text("Nothing unbilled")).to_be_visible()
        expect(
            page.locator(f'#journal .entry[data-call="{booked}"]').get_by_role(
                "link", name="✓ Service"
            )
        ).to_be_visible()
        page.goto(f"{base}/calls")
        expect(page.locator("table.calls")).to_contain_text("Not billable")
        expect(page.locator("table.calls")).to_contain_text("✓ Service")


@pytest.mark.parametrize("width", [1280, 390])
def test_charts_fit_desktop_and_phone(
    page: Any, firm: dict[str, Any], tmp_path: Path, width: int
) -> None:
    store: Store = firm["store"]
    for number in range(3):
        answered_call(store, f"c{number}", 30 + number, 60 * (number + 1))
    with live_server(Offhook(Config(data_dir=tmp_path), store)) as base:
        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, base)
        page.goto(f"{base}/unbilled/charts?of=all")
        charts = page.get_by_role("img", name=re.compile("per week|per hour|per weekday|callers"))
        expect(charts.first).to_be_visible()
        expect(page.locator("[data-stat=unbooked]")).to_have_text("3")
        for index in range(page.locator("svg.chart").count()):
            box = page.locator("svg.chart").nth(index).bounding_box()
            assert box["width"] > 200 and box["x"] + box["width"] <= width
        table = page.get_by_role("table", name=re.compile("per hour of the day"))
        expect(table).to_contain_text("incoming calls")
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/charts-{width}.png", full_page=True)
        page.emulate_media(media="print")
        expect(page.locator("svg.chart").first).to_be_visible()
        expect(page.locator("form.filters")).to_be_hidden()
