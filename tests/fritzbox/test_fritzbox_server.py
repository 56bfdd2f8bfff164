"""A FRITZ!Box set up as the driver's README says, in a real offhook app, fed by a local call
monitor: each user's journal shows their calls (direction, number, outcome, duration)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store
from tests import factories
from tests.fritzbox.test_fritzbox_calls import WORKED_EXAMPLE
from tests.web.conftest import log_in
from tests.web.test_journal import journal, wait_for


class ThreadedMonitor:
    """A call monitor for an app that runs its own event loop (in TestClient's thread)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.client: socket.socket | None = None
        self._accepted = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.client, _ = self.listener.accept()
        self._accepted.set()

    def send(self, lines: list[str]) -> None:
        assert self._accepted.wait(15), "offhook did not connect to the call monitor"
        assert self.client is not None
        self.client.sendall("".join(line + "\n" for line in lines).encode())

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.listener.close()


@pytest.fixture
def monitor() -> Iterator[ThreadedMonitor]:
    server = ThreadedMonitor()
    yield server
    server.close()


def test_the_worked_example_in_each_users_journal(
    serve: Callable[[], TestClient], store: Store, monitor: ThreadedMonitor
) -> None:
    with store.session() as session:
        install_driver(session, "fritzbox", auto_load=True)
        anna = add_user(session, "anna", "Anna Keller", factories.PASSWORD, "admin")
        ben = add_user(session, "ben", "Ben Frei", factories.PASSWORD, "user")
        box = add_phone_system(
            session,
            "fritzbox",
            "FRITZ!Box practice",
            {"host": "127.0.0.1", "monitor_port": monitor.port},
        )
        add_line(session, anna, box, "**610", "DECT", {"numbers": ["0301234567"]})
        add_line(session, ben, box, "0301234568", "Direct number")
    factories.address(store)  # Anna Müller, Muster AG, 044 668 18 12
    client = serve()
    monitor.send(WORKED_EXAMPLE)
    log_in(client, "anna")
    (call,) = wait_for(
        lambda: [e for e in journal(client) if e["state"] == "ended"], "anna's ended call"
    )
    assert (call["direction"], call["end_reason"], call["duration"]) == (
        "incoming",
        "answered",
        60,
    )
    assert call["number"]["e164"] == "+41446681812"
    assert call["address"]["name"].startswith("Anna Müller")
    client.cookies.clear()
    log_in(client, "ben")

    def ended() -> list[tuple[str, str, str | None, int | None]] | None:
        entries = [e for e in journal(client) if e["state"] == "ended"]
        found = sorted(
            (e["number"]["e164"], e["direction"], e["end_reason"], e["duration"]) for e in entries
        )
        return found if len(found) == 3 else None

    assert wait_for(ended, "ben's three calls") == [
        ("+41315556677", "incoming", "answered", 30),
        ("+41449998877", "outgoing", "answered", 51),
        ("+41791234567", "incoming", "missed", None),
    ]
