"""Issue 12, deliver 5: a ringing call is not missed because offhook's tab is not in front. The
tab's title shows it, and Chromium's own Notification API shows a desktop notification, asked
for from the journal. The Notification constructor is wrapped (it still makes the real
notification) so the test can read what was shown and click it; the tab is made to report
itself hidden, which a headless browser cannot do by itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from tests.browser.conftest import new_page
from tests.browser.office import firm, log_in, simulate
from tests.livesite import live_server

pytestmark = pytest.mark.browser

SPY = """(() => {
  const Real = window.Notification;
  window.shown = [];
  class Seen extends Real {
    constructor(title, options) {
      super(title, options);
      const { body, tag } = options || {};
      window.shown.push({ title, body, tag, notice: this });
    }
  }
  Object.defineProperty(Seen, "permission", { get: () => Real.permission });
  Seen.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Seen;
  Object.defineProperty(document, "hidden", {
    get: () => Boolean(window.away), configurable: true });
  Object.defineProperty(document, "visibilityState", {
    get: () => (window.away ? "hidden" : "visible"), configurable: true });
  const hasFocus = document.hasFocus.bind(document);
  document.hasFocus = () => !window.away && hasFocus();
})();"""


def test_a_ringing_call_is_shown_while_the_tab_is_hidden(
    browser: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    firm(sqlite_store)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        context, page, errors = new_page(browser)
        page.add_init_script(script=SPY)
        log_in(page, base)
        simulate(page, "+49 30 901820", outcome="missed")
        journal = page.locator("#journal")
        ask = journal.get_by_role("button", name="Desktop notifications")
        expect(ask).to_be_visible()
        context.grant_permissions(["notifications"], origin=base)
        ask.click()
        expect(ask).to_be_hidden()

        # In front: the journal and the title show the call, no notification.
        simulate(page, "+41 44 668 18 12")
        expect(page).to_have_title("☎ Anna Müller, Muster AG, 044 668 18 12 · Today · offhook")
        entry = journal.locator('.entry[data-state="ringing"]')
        entry.get_by_role("button", name="Reject").click()
        expect(page).to_have_title("Today · offhook")
        assert page.evaluate("window.shown.length") == 0

        # Hidden (another tab or application in front), the journal collapsed: a notification
        # with the caller's name and number; clicking it brings the journal with that entry.
        journal.get_by_role("button", name="Collapse journal").click()
        page.evaluate("window.away = true")
        simulate(page, "+41 44 668 18 12", "Anna M.")
        # Polled from here: wait_for_function with a string, once it has to poll, is refused by
        # the page's content security policy (no 'unsafe-eval'): the journal may take a moment.
        expect(journal.locator('.entry[data-state="ringing"]')).to_have_count(1)
        for _ in range(100):
            if page.evaluate("window.shown.length") == 1:
                break
            page.wait_for_timeout(100)
        assert page.evaluate("window.shown.length") == 1
        shown = page.evaluate("({title: shown[0].title, body: shown[0].body, tag: shown[0].tag})")
        assert shown["title"] == "Call ringing: Anna Müller, Muster AG"
        assert shown["body"].startswith("044 668 18 12")
        ringing = journal.locator('.entry[data-state="ringing"]')
        call_id = ringing.get_attribute("data-call")
        assert shown["tag"] == f"offhook-call-{call_id}"
        expect(page).to_have_title("☎ Anna Müller, Muster AG, 044 668 18 12 · Today · offhook")
        page.evaluate("window.away = false")
        page.evaluate("shown[0].notice.dispatchEvent(new Event('click'))")
        expect(journal).not_to_have_class("journal collapsed")
        expect(ringing).to_be_focused()
        context.close()
        assert errors == [], errors
