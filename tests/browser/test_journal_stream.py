"""The journal's stream drops (the server restarts) and the page follows again without a reload."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from tests import factories
from tests.browser.test_journal_panel import log_in, simulate
from tests.livesite import live_server

pytestmark = pytest.mark.browser


@contextmanager
def unavailable(port: int) -> Iterator[threading.Event]:
    """A proxy in front of a server that is down: 503 to everything; the event is set once
    the page has asked for its stream."""
    asked = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/api/journal/stream"):
                asked.set()
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield asked
    finally:
        server.shutdown()
        server.server_close()


def test_the_journal_survives_a_server_restart(
    page: Any, sqlite_store: Store, tmp_path: Path
) -> None:
    factories.user_with_line(sqlite_store)
    journal = page.locator("#journal")
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        log_in(page, base)
        simulate(page, "+41 44 668 18 12", outcome="missed")
        expect(journal.locator(".entry")).to_have_count(1)
        page.evaluate("window.sameDocument = true")
    # The server is gone: the page says so and keeps trying.
    expect(journal).to_have_attribute("data-live", "false")
    port = urlsplit(base).port
    assert port is not None
    # A browser's EventSource gives up for good on an error status; the page must not.
    with unavailable(port) as asked:
        assert asked.wait(30), "the page did not try to reconnect"
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store), port=port):
        expect(journal).to_have_attribute("data-live", "true", timeout=30_000)
        simulate(page, "+41 44 668 18 13", outcome="missed")
        expect(journal.locator(".entry")).to_have_count(2)
    assert page.evaluate("window.sameDocument") is True  # no reload happened
