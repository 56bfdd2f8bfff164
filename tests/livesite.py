"""A real offhook server on 127.0.0.1 (uvicorn in a thread), for browser and HTTP clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from offhook.app import Offhook
from offhook.web.server import server_for


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
