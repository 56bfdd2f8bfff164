"""Issue 12, items 1 and 2, in Chromium: deleting a line asks first (the content security policy
blocked the inline confirm() that used to), and Auto Load is kept after a reload (its inline
onchange was blocked the same way)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from offhook.store.models import InstalledDriver, Line
from tests.browser.office import firm, log_in
from tests.livesite import live_server

pytestmark = pytest.mark.browser


def test_line_delete_asks_and_auto_load_is_kept(
    page: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    office = firm(sqlite_store)
    line_id = office["line"].id
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        log_in(page, base)
        page.goto(f"{base}/settings/extensions")
        row = page.locator('tr[data-extension="simulator"]')
        box = row.get_by_role("checkbox", name="Auto Load")
        expect(box).to_be_checked()
        box.uncheck()
        # The save is a form post and its redirect: reloading before they are through would
        # race them (and interrupt the navigation on a busy machine).
        with page.expect_navigation():
            row.get_by_role("button", name="Save").click()
        page.reload()
        expect(
            page.locator('tr[data-extension="simulator"]').get_by_role("checkbox")
        ).not_to_be_checked()

        page.goto(f"{base}/settings/lines")
        page.locator(f'a[href="/settings/lines/{line_id}/delete"]').click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Delete the line")
        with sqlite_store.session() as session:
            assert session.get(Line, line_id) is not None  # not yet: the user is asked first
        page.get_by_role("link", name="Cancel").click()
        page.locator(f'a[href="/settings/lines/{line_id}/delete"]').click()
        page.get_by_role("button", name="Delete line").click()
        page.wait_for_url(f"{base}/settings/lines*")

    with sqlite_store.session() as session:
        assert session.get(Line, line_id) is None
        ext = session.get(InstalledDriver, "simulator")
        assert ext is not None
        assert ext.auto_load is False
