"""Issue 12, items 8 and 9: one rule for a call's length and for times everywhere, and a new
address from a foreign caller in the caller's country, chosen from a list of named countries."""

from __future__ import annotations

import re
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


def test_a_calls_length_and_times_agree_everywhere(
    page: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    office = firm(sqlite_store)
    # 3.6 seconds of talk, within one minute: rounded it would read 0:04 in one place and 0:03
    # in another, and the service's times 09:41–09:41.
    connected = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=10, microsecond=0)
    with sqlite_store.session() as session:
        call = Call(
            line_id=office["line"].id,
            call_ref="short-1",
            direction="incoming",
            state="ended",
            end_reason="answered",
            remote_number="+41 44 668 18 12",
            remote_e164="+41446681812",
            remote_kind="external",
            started_at=connected - timedelta(seconds=5),
            connected_at=connected,
            ended_at=connected + timedelta(seconds=3.6),
        )
        session.add(call)
        session.flush()
        call_id = call.id
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        log_in(page, base)
        entry = page.locator(f'#journal .entry[data-call="{call_id}"]')
        expect(entry.locator(".entry-duration")).to_have_text("0:03")
        page.goto(f"{base}/calls")
        expect(page.locator("main table tbody tr").first).to_contain_text("0:03")
        page.goto(f"{base}/calls/{call_id}")
        expect(page.get_by_role("main")).to_contain_text("0:03")
        page.goto(f"{base}/services/new?call={call_id}")
        rule = page.locator("main .rule")
        expect(rule).to_contain_text("(0:03)")
        expect(rule).not_to_contain_text("min)")
        page.get_by_role("button", name="Save service").click()
        page.wait_for_url(re.compile(r"/services\?day="))
        times = page.locator("main table tbody tr").first.locator("td").first
        # Both ends in the same minute: written to the second, so it does not read 9:41–9:41
        # (in English, as this browser asks: 9:41:10 AM–9:41:13 AM).
        expect(times).to_contain_text(re.compile(r"\d:\d\d:10\s[AP]M–\d{1,2}:\d\d:13\s[AP]M"))


def test_a_french_caller_gets_a_french_address(
    page: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    firm(sqlite_store)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        log_in(page, base)
        simulate(page, "+33 1 42 68 53 00", outcome="missed")
        page.locator("#journal .entry").first.get_by_role("link", name="Create address").click()
        page.wait_for_url(re.compile(r"/addresses/new"))
        country = page.locator("select[name=country]")
        expect(country).to_have_value("FR")
        labels = country.locator("option").all_text_contents()
        # Every country is named: no bare two-letter codes such as "AC".
        assert [label for label in labels if re.fullmatch(r"[A-Z]{2}", label)] == []
        expect(country.locator('option[value="AC"]')).to_have_text("Ascension Island")
