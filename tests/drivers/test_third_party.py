"""A third-party driver, written from offhook/drivers/README.md alone and shipped as a pip
package of its own (tests/drivers/example_driver), works without touching offhook's code: pip
installs it, offhook finds it, serves its route, runs its command and its phone system's calls
reach the journals.

Its phone system here is a TCP server in this test that speaks the driver's line protocol, on
127.0.0.1.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from offhook.drivers.registry import available_drivers
from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store
from offhook.web.app import create_app
from tests.factories import PASSWORD
from tests.web.conftest import log_in, make_app
from tests.web.test_journal import journal, wait_for

PACKAGE = Path(__file__).with_name("example_driver")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example driver, installed by pip into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-cache-dir",
            "--target",
            str(target),
            str(PACKAGE),
        ],
        check=True,
        cwd=build,
        timeout=300,
    )
    assert (target / "echo_pbx" / "__init__.py").exists()
    return target


@pytest.fixture
def on_path(installed: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(installed))
    available_drivers.cache_clear()
    yield installed
    available_drivers.cache_clear()
    for name in [m for m in sys.modules if m == "echo_pbx" or m.startswith("echo_pbx.")]:
        del sys.modules[name]


class EchoPbx:
    """The phone system: accepts the driver's connection and sends it lines."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.lines: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.server.accept()
        with connection:
            while (line := self.lines.get()) != "":
                connection.sendall(line.encode() + b"\n")

    def say(self, line: str) -> None:
        self.lines.put(line)

    def close(self) -> None:
        self.lines.put("")
        self.server.close()


def test_its_command_is_part_of_offhook(on_path: Path, tmp_path: Path) -> None:
    pbx = socket.create_server(("127.0.0.1", 0))
    port = pbx.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(on_path), "OFFHOOK_DATA_DIR": str(tmp_path)}
    # Installing makes the database (a listing alone would not create one).
    subprocess.run(
        [sys.executable, "-m", "offhook", "drivers", "install", "echo_pbx"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    listed = subprocess.run(
        [sys.executable, "-m", "offhook", "drivers", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "echo_pbx" in listed.stdout and "Echo PBX" in listed.stdout
    said = subprocess.run(
        [sys.executable, "-m", "offhook", "echo-pbx", "say", "--port", str(port), "END", "7"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    connection, _ = pbx.accept()
    with connection, pbx:
        assert connection.recv(100) == b"END 7\n"
    assert said.returncode == 0, said.stderr
    assert "sent" in said.stdout


def test_its_calls_reach_the_journal_and_its_route_is_served(
    on_path: Path, sqlite_store: Store, tmp_path: Path
) -> None:
    pbx = EchoPbx()
    with sqlite_store.session() as session:
        install_driver(session, "echo_pbx", auto_load=True)
        anna = add_user(session, "anna", "Anna Keller", PASSWORD, "user")
        system = add_phone_system(
            session, "echo_pbx", "Echo", {"host": "127.0.0.1", "port": pbx.port}
        )
        add_line(session, anna, system, "201", "Desk")
    app = make_app(sqlite_store, tmp_path)
    try:
        with TestClient(create_app(app), follow_redirects=False) as client:
            log_in(client, "anna")
            mine = wait_for(
                lambda: [
                    line
                    for line in client.get("/api/drivers/echo_pbx/my-lines").json()
                    if line["state"] == "connected"
                ],
                "the Echo PBX connected",
            )
            assert mine[0]["extension"] == "201"
            pbx.say("RING c-1 201 +41446681812")
            entry = wait_for(lambda: journal(client), "the call in the journal")[0]
            assert entry["state"] == "ringing"
            assert entry["number"]["e164"] == "+41446681812"
            pbx.say("END c-1")
            ended = wait_for(
                lambda: [e for e in journal(client) if e["state"] == "ended"], "the call ended"
            )
            assert ended[0]["missed"]
            schema = client.get("/api/openapi.json").json()
            assert "/api/drivers/echo_pbx/my-lines" in schema["paths"]
    finally:
        pbx.close()
