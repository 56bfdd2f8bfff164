"""`offhook serve` in a process of its own, for attacks whose cost is the server's: its memory,
its connections, its log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from offhook.lines.admin import add_line_with_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store
from tests import factories
from tests.livesite import free_port

MIB = 1024 * 1024


@dataclass
class Server:
    base: str
    port: int
    pid: int
    log: Path

    def rss(self) -> int:
        """The server process's resident memory, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the server")


@contextmanager
def server_process(tmp_path: Path, **env: str) -> Iterator[Server]:
    """`offhook serve` on a SQLite file with one user (anna, an admin) and her simulated line;
    `env` adds OFFHOOK_* settings. Its output goes to `Server.log`."""
    url = f"sqlite:///{tmp_path / 'offhook.sqlite'}"
    store = Store(url)
    store.migrate()
    with store.session() as session:
        install_driver(session, "simulator", auto_load=True)
        user = add_user(session, "anna", "Anna", factories.PASSWORD, "admin")
        add_line_with_system(session, user, "simulator", "201", "Desk")
    store.dispose()
    port = free_port()
    environment = {
        **os.environ,
        "OFFHOOK_DATABASE_URL": url,
        "OFFHOOK_DATA_DIR": str(tmp_path),
        "OFFHOOK_UPLOAD_MAX_BYTES": str(2 * MIB),
        **env,
    }
    environment.pop("OFFHOOK_REDIS_URL", None)
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "offhook", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server process ended"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield Server(base, port, process.pid, log)
    finally:
        process.terminate()
        process.wait(15)
