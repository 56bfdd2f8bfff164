"""A server killed or stopped with a connected simulated call (issue 8, defect 5, and calls
reconciled after a restart): a real `offhook serve` process over a SQLite file. After the
restart the call is over, and it ended when the server was last known to run, not at the
restart, so its duration does not include the downtime."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from offhook.settings.users import create_token
from offhook.store import Store
from offhook.store.models import Call, User
from tests import factories
from tests.livesite import free_port

TIMEOUT = 30.0


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)
    return result


class Server:
    def __init__(self, store: Store, directory: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "OFFHOOK_DATABASE_URL": store.url,
            # Notes that its lines run every half second, so the test need not wait long.
            "OFFHOOK_RING_TIMEOUT": "2",
        }
        self.log = directory / f"server-{self.port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "offhook", "serve", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._up, f"the server on port {self.port} ({self.log})")

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited: {self.log.read_text()}")
        try:
            return httpx.get(f"{self.base}/login", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, how: signal.Signals) -> None:
        self.process.send_signal(how)
        self.process.wait(TIMEOUT)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[[Store], Server]]:
    started: list[Server] = []

    def start(store: Store) -> Server:
        started.append(Server(store, tmp_path))
        return started[-1]

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)


def the_call(store: Store) -> Call | None:
    with store.session() as session:
        call = session.scalar(select(Call))
        if call is not None:
            session.expunge(call)
        return call


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "stop"])
def test_a_connected_simulated_call_ends_when_the_server_was_last_alive(
    sqlite_store: Store, servers: Callable[[Store], Server], how: signal.Signals
) -> None:
    store = sqlite_store
    factories.user_with_line(store)
    with store.session() as session:
        user = session.scalar(select(User))
        assert user is not None
        token = create_token(session, user)
    server = servers(store)
    response = httpx.post(
        f"{server.base}/api/drivers/simulator/calls",
        json={
            "number": "+41446681812",
            "outcome": "answered",
            "ring_seconds": 0,
            "talk_seconds": 3600,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    wait_for(lambda: (c := the_call(store)) and c.state == "connected", "the call to connect")
    connected = the_call(store)
    assert connected is not None and connected.connected_at is not None
    # The server notes now and then that its lines run; let it do so after the call connected.
    wait_for(lambda: _alive_at(store) > connected.connected_at, "the server to note it runs")
    server.stop(how)
    stopped_at = datetime.now(UTC)  # and then down for a while: the call must not grow by it

    servers(store)
    ended = wait_for(
        lambda: (c := the_call(store)) and c.state == "ended" and c, "the call to be ended"
    )
    assert ended.ended_by_offhook, "the call must say that offhook ended it, and why"
    assert ended.end_reason == "answered"
    assert connected.connected_at <= ended.ended_at <= stopped_at


def _alive_at(store: Store) -> datetime:
    from offhook.lines.running import ALIVE_SETTING
    from offhook.store.models import Setting

    with store.session() as session:
        row = session.get(Setting, ALIVE_SETTING)
        if row is None:
            return datetime.min.replace(tzinfo=UTC)
        return datetime.fromisoformat(row.value["at"])
