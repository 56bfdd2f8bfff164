"""The live 3CX in a real offhook app: a 3CX phone system set up as the driver's README says,
against the local Call Control API (`fake3cx`, built from 3CX's published description): the
agent's journal follows the call live, and click to dial and hang up go through the API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store
from tests import factories
from tests.threecx.fake3cx import Fake3cx
from tests.web.conftest import log_in
from tests.web.test_journal import journal, wait_for

T = TypeVar("T")


class Pbx:
    """The fake 3CX on an event loop of its own (the app runs in TestClient's thread)."""

    def __init__(self) -> None:
        self.fake = Fake3cx()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self.fake.start())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(15)

    def close(self) -> None:
        self.run(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def pbx() -> Iterator[Pbx]:
    running = Pbx()
    yield running
    running.close()


def test_the_journal_follows_3cx_live(
    serve: Callable[[], TestClient], store: Store, pbx: Pbx
) -> None:
    fake = pbx.fake
    with store.session() as session:
        install_driver(session, "3cx", auto_load=True)
        anna = add_user(session, "anna", "Anna Keller", factories.PASSWORD, "admin")
        system = add_phone_system(
            session,
            "3cx",
            "3CX office",
            {
                "public_url": "https://offhook.example.com",
                "api_url": fake.url,
                "client_id": fake.client_id,
                "client_secret": fake.client_secret,
            },
        )
        add_line(session, anna, system, "101")
    factories.address(store)  # Anna Müller, Muster AG, 044 668 18 12
    client = serve()
    csrf = log_in(client, "anna")
    wait_for(lambda: fake.sockets, "offhook's event stream")
    wait_for(
        lambda: client.get("/api/journal").json()["lines"][0]["state"] == "connected",
        "the line connected",
    )

    pid = pbx.run(fake.ring("101", "+41446681812", "A. Müller"))
    (ringing,) = wait_for(lambda: journal(client), "the ringing call")
    assert ringing["state"] == "ringing"
    assert ringing["address"]["name"].startswith("Anna Müller")
    pbx.run(fake.answer("101", pid))
    wait_for(lambda: journal(client)[0]["state"] == "connected", "connected")
    pbx.run(fake.hang_up("101", pid))
    wait_for(lambda: journal(client)[0]["end_reason"] == "answered", "ended, answered")

    dialled = client.post(
        "/api/dial", json={"number": "044 999 88 77"}, headers={"X-CSRF-Token": csrf}
    )
    assert dialled.status_code == 200, dialled.text
    call_id = dialled.json()["call_id"]
    assert wait_for(
        lambda: [r for r in fake.requests if r[0] == "makecall"], "the makecall request"
    ) == [("makecall", "101", {"destination": "0449998877"})]
    hung_up = client.post(f"/api/calls/{call_id}/hangup", headers={"X-CSRF-Token": csrf})
    assert hung_up.status_code == 200, hung_up.text
    entry = wait_for(
        lambda: next((e for e in journal(client) if e["id"] == call_id and e["end_reason"]), None),
        "the dialled call ended",
    )
    assert (entry["direction"], entry["end_reason"]) == ("outgoing", "cancelled")
    assert [r[0] for r in fake.requests] == ["makecall", "drop"]
