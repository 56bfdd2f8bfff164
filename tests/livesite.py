"""A real offhook server on 127.0.0.1 (uvicorn in a thread), for browser and HTTP clients."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from offhook.app import Offhook
from offhook.web.server import server_for
from tests import factories


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(offhook: Offhook, port: int | None = None) -> Iterator[str]:
    """Serve `offhook` until the block ends (on `port`, else a free one); yields the base URL."""
    port = port or free_port()
    server = server_for(offhook, "127.0.0.1", port, log_level="warning")
    thread = threading.Thread(target=server.run, name="offhook-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the offhook server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        thread.join(10)


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def logged_in(
    base: str, login: str, password: str = factories.PASSWORD
) -> tuple[httpx.Client, str]:
    """An HTTP client of the live server, logged in through the form, and its CSRF token."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=10)
    response = client.post(
        "/login",
        data={
            "login": login,
            "password": password,
            "csrf_token": csrf_in(client.get("/login").text),
        },
    )
    assert response.status_code == 303, response.text
    return client, csrf_in(client.get("/").text)
