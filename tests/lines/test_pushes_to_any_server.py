"""A provider's pushes reaching any of three servers (issue 13: the reverse proxy does not know
which server runs the phone system): each push is passed on to the server that runs it and
applied there once, in the order it arrived; a push answered 2xx is stored, even when that
server is killed (kill -9) in the middle of a burst.

Real processes: three `offhook serve` on one PostgreSQL and a Redis of the test's own, the
generic `webhook` driver (Zammad's format, no signature), pushes over HTTP.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store
from offhook.store.models import Call, CallEventRecord, Line
from tests.factories import PASSWORD
from tests.lines.test_several_servers import pg_store  # noqa: F401 (a fixture)
from tests.livesite import logged_in
from tests.redisserver import RedisServer
from tests.web.test_fanout import Server, start_server, wait_for

pytestmark = pytest.mark.postgres

TOKEN = "several-servers-push-token-0123456789"
HOOK = f"/drivers/webhook/hooks/{TOKEN}"
#: The states a call's pushes (newCall, answer, hangup) move it through, in order.
STATES = ["ringing", "connected", "ended"]


@dataclass
class Pushes:
    servers: list[Server]
    store: Store
    system_id: int
    #: Every push answered 2xx: (call id, the state it moves the call to).
    acknowledged: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[int, int] = field(default_factory=dict)

    def post(self, server: Server, body: dict[str, str]) -> int:
        """The push's HTTP status there (0: the server is gone)."""
        try:
            response = httpx.post(server.url + HOOK, data=body, timeout=30)
        except httpx.TransportError:
            return 0
        return response.status_code

    def call(self, call_id: str, first: int, retry: bool) -> None:
        """newCall, answer and hangup of one call, each sent to the next server in turn and
        only after the one before was answered 2xx (as a provider does); a push that is not
        answered 2xx is sent again to the next server when `retry`, else the call stops."""
        common = {"callId": call_id, "direction": "in", "user": "anna"}
        pushes = [
            ({"event": "newCall", "from": "+41446681800", "to": "+41446681899"}, "ringing"),
            ({"event": "answer", "answeringNumber": "anna"}, "connected"),
            ({"event": "hangup", "cause": "normalClearing"}, "ended"),
        ]
        turn = first
        for fields, state in pushes:
            deadline = time.monotonic() + 90
            while True:
                server = self.servers[turn % len(self.servers)]
                turn += 1
                status = self.post(server, {**common, **fields})
                with self.lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    with self.lock:
                        self.acknowledged.append((call_id, state))
                    break
                if not retry or time.monotonic() > deadline:
                    return
                time.sleep(0.2)

    def burst(self, prefix: str, calls: int, threads: int, retry: bool) -> None:
        def run(worker: int) -> None:
            for n in range(worker, calls, threads):
                self.call(f"{prefix}-{n}", n, retry)

        workers = [threading.Thread(target=run, args=(w,)) for w in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(300)

    def owner(self) -> Server | None:
        """The live server that says it runs the phone system (the last one to start it)."""
        alive = [s for s in self.servers if s.process.poll() is None]
        started = f"phone system {self.system_id} is connected"
        running = [s for s in alive if started in s.logged()]
        return running[0] if len(running) == 1 else None

    def recorded(self) -> dict[str, list[tuple[str, bool]]]:
        """Each call's event records in the order stored: (state, whether it changed it)."""
        with self.store.session() as session:
            rows = session.execute(
                select(Call.call_ref, CallEventRecord.state, CallEventRecord.changed)
                .join(CallEventRecord, CallEventRecord.call_id == Call.id)
                .order_by(CallEventRecord.id)
            ).all()
        calls: dict[str, list[tuple[str, bool]]] = {}
        for ref, state, changed in rows:
            calls.setdefault(ref, []).append((state, changed))
        return calls

    def stopped(self) -> None:
        for server in self.servers:
            if server.process.poll() is None:
                server.process.terminate()
        for server in self.servers:
            try:
                server.process.wait(15)
            except Exception:
                server.process.kill()


@pytest.fixture
def pushes(pg_store: Store, tmp_path: Path) -> Iterator[Pushes]:  # noqa: F811
    store = pg_store
    with store.session() as session:
        install_driver(session, "webhook", auto_load=True)
        system = add_phone_system(session, "webhook", "the PBX", {"url_token": TOKEN})
        user = add_user(session, "anna", "Anna", PASSWORD, "admin")
        add_line(session, user, system, "anna", options={"numbers": ["+41446681899"]})
        system_id = system.id
    redis = RedisServer(tmp_path)
    redis.start()
    url = store.engine.url.render_as_string(hide_password=False)
    servers = [start_server(tmp_path, name, url, redis.url) for name in ("a", "b", "c")]
    cluster = Pushes(servers, store, system_id)
    try:

        def up() -> bool:
            for server in servers:
                if server.process.poll() is not None:
                    raise AssertionError(f"a server exited:\n{server.logged()}")
            try:
                # A push that names nobody here: every server takes it (passes it on) once
                # each runs and Redis connects them.
                # Each a push of its own (the same body again is a replay, refused).
                probe = f"probe-{time.monotonic()}-"
                body = {"event": "newCall", "direction": "in", "user": "x"}
                answers = [cluster.post(s, {**body, "callId": probe + s.url}) for s in servers]
                return answers == [200] * len(servers)
            except httpx.TransportError:
                return False

        wait_for(up, "three servers that take pushes", 180)
        wait_for(cluster.owner, "one server to run the phone system", 30)
        yield cluster
    finally:
        cluster.stopped()
        redis.stop()


def test_pushes_to_every_server_are_applied_once_each_in_order(pushes: Pushes) -> None:
    pushes.burst("rr", calls=60, threads=6, retry=False)
    assert pushes.statuses == {200: 180}, pushes.statuses
    recorded = pushes.recorded()
    assert sorted(recorded) == sorted(f"rr-{n}" for n in range(60))
    for ref, records in recorded.items():
        # Each push stored once (a record each), and in the order it was sent.
        assert records == [(state, True) for state in STATES], (ref, records)
    with pushes.store.session() as session:
        line_ids = set(session.scalars(select(Call.line_id)))
        assert line_ids == set(session.scalars(select(Line.id)))


def test_a_push_answered_2xx_is_stored_when_the_server_that_runs_it_is_killed(
    pushes: Pushes,
) -> None:
    owner = pushes.owner()
    assert owner is not None
    burst = threading.Thread(target=pushes.burst, args=("kill", 120, 8, True))
    burst.start()
    time.sleep(2.0)  # into the burst
    with pushes.lock:
        before = len(pushes.acknowledged)
    os.kill(owner.process.pid, signal.SIGKILL)
    burst.join(400)
    assert not burst.is_alive()
    assert before > 0, "the owner was killed before any push was answered"

    recorded = pushes.recorded()
    # Nothing answered 2xx is missing from the store: not before the kill, not after.
    missing = [
        (ref, state)
        for ref, state in pushes.acknowledged
        if state not in [s for s, changed in recorded.get(ref, []) if changed]
    ]
    assert missing == []
    # The provider sent again what was not answered 2xx: every call is complete, each state
    # reached once, in order (a push stored but not confirmed may be recorded again, as a
    # repeat that changes nothing).
    assert sorted(recorded) == sorted(f"kill-{n}" for n in range(120))
    for ref, records in recorded.items():
        assert [s for s, changed in records if changed] == STATES, (ref, records)
    print(f"statuses of the pushes: {pushes.statuses}; {before} acknowledged before the kill")


def test_the_set_up_page_and_its_test_event_work_on_any_server(pushes: Pushes) -> None:
    """An admin's browser may reach a server that does not run the phone system: the page
    still shows the address (and the last requests) and the test event arrives."""
    owner = pushes.owner()
    other = next(s for s in pushes.servers if s is not owner)
    client, csrf = logged_in(other.url, "anna")
    setup = f"/drivers/webhook/setup/{pushes.system_id}"
    page = client.get(setup)
    assert page.status_code == 200, page.text
    assert f"{other.url}{HOOK}" in page.text
    assert "not running" not in page.text
    done = client.post(f"{setup}/test", data={"csrf_token": csrf})
    assert done.status_code == 303
    page = client.get(setup).text
    assert "The test event arrived" in page, page
    assert "test event received through the public address" in page
