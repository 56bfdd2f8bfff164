"""The demo's office PBX in Chromium, as two colleagues see it: a call to the team's ring group
rings in both journals; Ben answers; Anna's entry says it was answered elsewhere, by Ben, and
still does after a reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.intake.demo import DEMO_PASSWORD, seed_demo
from offhook.settings.config import Config
from offhook.store import Store
from tests.livesite import live_server

pytestmark = pytest.mark.browser


def _log_in(page: Any, base: str, login: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    expect(page.locator("#journal")).to_have_attribute("data-live", "true", timeout=10_000)


def _desk(browser: Any, problems: list[str]) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    return page


def test_a_ring_group_call_in_the_demo(browser: Any, sqlite_store: Store, tmp_path: Path) -> None:
    seed_demo(sqlite_store, call_every=0)
    problems: list[str] = []
    anna, ben = _desk(browser, problems), _desk(browser, problems)
    config = Config(data_dir=tmp_path, demo=True)
    with live_server(Offhook(config, sqlite_store)) as base:
        _log_in(anna, base, "anna")
        _log_in(ben, base, "ben")

        # Anna lets a call ring at the team's number 600 from the demo's strip.
        strip = anna.get_by_role("form", name="Simulate a call")
        expect(strip.locator("select[name=number] option").first).to_be_attached()
        strip.locator("select[name=number]").select_option("+41 79 555 01 99")
        strip.locator("select[name=outcome]").select_option("ringing")
        strip.locator("select[name=to]").select_option("600")
        strip.get_by_role("button", name="Simulate call").click()

        ringing = '.entry[data-state="ringing"]'
        anna_entry = anna.locator(ringing).first
        ben_entry = ben.locator(ringing).first
        expect(anna_entry).to_be_visible()
        expect(ben_entry).to_be_visible()
        call_id = anna_entry.get_attribute("data-call")
        assert call_id != ben_entry.get_attribute("data-call")  # each has their own entry

        ben_entry.get_by_role("button", name="Answer").click()
        expect(ben.locator('.entry[data-state="connected"]').first).to_be_visible()

        answered = anna.locator(f'.entry[data-call="{call_id}"]')
        expect(answered).to_have_attribute("data-state", "ended")
        expect(answered).to_contain_text("Answered elsewhere (by Ben Frei)")
        expect(answered.get_by_text("Call back")).to_have_count(0)

        anna.reload()
        expect(anna.locator(f'.entry[data-call="{call_id}"]')).to_contain_text(
            "Answered elsewhere (by Ben Frei)"
        )
        anna.screenshot(path=str(tmp_path / "answered-elsewhere.png"))
    anna.context.close()
    ben.context.close()
    assert not problems, f"errors in the browser: {problems}"
