"""Issue 12, deliver 6: a missed call is work. It stays in the journal (yesterday's too) until
someone calls back or marks it done; the journal and the Today page count the open ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from offhook.store.models import Call
from tests.browser.office import firm, log_in, simulate
from tests.livesite import live_server

pytestmark = pytest.mark.browser


def test_missed_calls_stay_open_until_called_back_or_done(
    page: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    office = firm(sqlite_store)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with sqlite_store.session() as session:
        missed = Call(
            line_id=office["line"].id,
            call_ref="yesterday-1",
            direction="incoming",
            state="ended",
            end_reason="missed",
            remote_number="+33 1 42 68 53 00",
            remote_e164="+33142685300",
            remote_kind="external",
            started_at=yesterday,
            ended_at=yesterday + timedelta(seconds=20),
        )
        session.add(missed)
        session.flush()
        old_id = missed.id
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        log_in(page, base)
        journal = page.locator("#journal")
        count = journal.locator(".journal-missed")
        today_missed = page.locator('[data-stat="missed-today"]')
        # Yesterday's missed call is still there, with its date, and counted.
        expect(journal).to_be_visible()
        expect(journal.locator(".entry.missed.open")).to_have_count(1)
        old = journal.locator(f'.entry[data-call="{old_id}"]')
        expect(old.locator(".entry-time")).to_contain_text(yesterday.strftime("%Y")[-4:])
        expect(count).to_have_text("1 missed")
        expect(today_missed).to_have_text("1 missed")
        expect(page.locator('[data-stat="calls-today"]')).to_have_text("0")

        simulate(page, "+41 44 668 18 12", outcome="missed")
        expect(count).to_have_text("2 missed")
        expect(today_missed).to_have_text("2 missed")
        expect(page.locator('[data-stat="calls-today"]')).to_have_text("1")

        # Yesterday's needs nothing more: marked done.
        old.get_by_role("button", name="Mark done").click()
        expect(count).to_have_text("1 missed")
        expect(journal.locator(".entry.missed.open")).to_have_count(1)

        # Today's is called back: the call reaches the caller, which closes it.
        fresh = journal.locator(".entry.missed.open")
        call_id = fresh.get_attribute("data-call")
        fresh.get_by_role("button", name="Call back", exact=True).click()
        expect(count).to_be_hidden(timeout=15_000)
        closed = journal.locator(f'.entry[data-call="{call_id}"]')
        expect(closed.locator(".done")).to_have_text("✓ Called back")
        expect(today_missed).to_be_hidden()

        # After a reload: yesterday's done call is no longer in today's journal.
        page.reload()
        expect(journal.locator(".entry")).to_have_count(2)
        expect(count).to_be_hidden()
        expect(today_missed).to_be_hidden()
