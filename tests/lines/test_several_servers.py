"""Several servers on one PostgreSQL and one Redis (issue 13, deliverable 3): each phone system is
run by exactly one server, the one holding its lease; when that server is killed (kill -9,
during a burst of calls) another takes over and reconciles; actions reach the phone system
from whichever server the browser talks to; every journal ends as the store has it, with no
call recorded twice.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from offhook.settings.users import create_token, find_user
from offhook.store import Store
from offhook.store.models import Call, CallEventRecord
from tests import factories
from tests.conftest import make_store
from tests.redisserver import RedisServer
from tests.web.test_fanout import (
    Server,
    StreamClient,
    auth,
    project,
    start_server,
    wait_for,
)

pytestmark = pytest.mark.postgres


@dataclass
class Cluster:
    servers: list[Server]
    token: str
    store: Store
    streams: list[StreamClient]

    def simulate(self, server: Server, n: int) -> int:
        """Places a call there; its HTTP status (0: the server is gone)."""
        try:
            response = self._simulate(server, n)
        except httpx.TransportError:
            return 0
        return response.status_code

    def _simulate(self, server: Server, n: int) -> httpx.Response:
        return httpx.post(
            f"{server.url}/api/drivers/simulator/calls",
            headers=auth(self.token),
            json={
                "number": f"044 668 18 {n % 100:02d}",
                "outcome": "answered",
                "ring_seconds": 0.2,
                "talk_seconds": 0.3,
            },
            timeout=10,
        )

    def owners(self) -> list[Server]:
        """The servers that run the simulated phone system (each probe places a call)."""
        alive = [s for s in self.servers if s.process.poll() is None]
        return [s for s in alive if self.simulate(s, 99) == 200]

    def journal(self, server: Server) -> dict[int, tuple[str, str | None, str | None]]:
        response = httpx.get(f"{server.url}/api/journal", headers=auth(self.token), timeout=10)
        assert response.status_code == 200, response.text
        return project(response.json()["entries"])


def serving(server: Server, token: str) -> None:
    """Wait until the server answers; three servers starting at once on a busy machine take a
    while (the journal's own `wait_until_serving` gives one 30 s)."""

    def up() -> bool:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited:\n{server.logged()}")
        try:
            return httpx.get(f"{server.url}/api/journal", headers=auth(token)).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, "the server to start", 180)


@pytest.fixture
def pg_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    # Several servers share PostgreSQL; SQLite is one server's database.
    yield from make_store("postgres", tmp_path, request)


@pytest.fixture
def cluster(pg_store: Store, tmp_path: Path) -> Iterator[Cluster]:
    store = pg_store
    factories.user_with_line(store)
    with store.session() as session:
        user = find_user(session, "anna")
        assert user is not None
        token = create_token(session, user, "several servers")
    redis = RedisServer(tmp_path)
    redis.start()
    url = store.engine.url.render_as_string(hide_password=False)
    servers = [start_server(tmp_path, name, url, redis.url) for name in ("a", "b", "c")]
    try:
        for server in servers:
            serving(server, token)
        streams = [StreamClient(server.url, token) for server in servers]
        for stream in streams:
            stream.start()
        for stream in streams:
            wait_for(lambda s=stream: "snapshot" in s.kinds, "the first snapshot")  # type: ignore[misc]
        yield Cluster(servers, token, store, streams)
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.process.terminate()
        for server in servers:
            try:
                server.process.wait(15)
            except Exception:
                server.process.kill()
        redis.stop()


def test_one_server_runs_the_phone_system_and_another_takes_over_when_it_is_killed(
    cluster: Cluster,
) -> None:
    owners = wait_for(cluster.owners, "a server to run the phone system")
    assert len(owners) == 1, [s.url for s in owners]
    owner = owners[0]
    accepted: list[int] = []

    def burst(server: Server, count: int) -> None:
        for n in range(count):
            if cluster.simulate(server, n) == 200:
                accepted.append(n)
            time.sleep(0.03)

    first = threading.Thread(target=burst, args=(owner, 60))
    first.start()
    time.sleep(1.0)  # into the burst
    os.kill(owner.process.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    killed_wall = datetime.now()
    first.join(60)
    owner.process.wait(10)

    survivors = [s for s in cluster.servers if s is not owner]
    new_owners = wait_for(cluster.owners, "another server to take the phone system over", 30)
    took = time.monotonic() - killed_at
    # The new owner's log says when it took over (its clock is this machine's).
    line = next(
        line
        for line in new_owners[0].logged().splitlines()
        if "this server now runs phone system" in line
    )
    started = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    print(
        f"taken over {(started - killed_wall).total_seconds():.1f} s after the kill by the "
        f"server's log, {took:.1f} s until this test saw it (target: within 10 s)"
    )
    assert len(new_owners) == 1 and new_owners[0] in survivors
    burst(new_owners[0], 30)

    # Everything ends (the new owner reconciled the calls the dead server left open), and every
    # journal, on every surviving server and in every live stream there, is the store's.
    def settled() -> dict[int, tuple[str, str | None, str | None]] | None:
        journal = cluster.journal(survivors[0])
        done = journal and all(v[0] == "ended" for v in journal.values())
        return journal if done else None

    expected = wait_for(settled, "every call to end", 60)
    with cluster.store.session() as session:
        calls = session.scalar(select(func.count()).select_from(Call))
        refs = session.scalar(select(func.count(func.distinct(Call.call_ref))))
        # No call event recorded twice: one ringing record per call at most.
        ringing = session.execute(
            select(CallEventRecord.call_id, func.count())
            .where(CallEventRecord.state == "ringing")
            .group_by(CallEventRecord.call_id)
            .having(func.count() > 1)
        ).all()
    assert calls == refs == len(expected)
    assert ringing == []
    assert len(accepted) + 30 <= calls + 60  # sanity: the bursts did place calls
    for server in survivors:
        assert cluster.journal(server) == expected
    for stream in cluster.streams:
        if stream.url == owner.url:
            continue
        wait_for(lambda s=stream: s.journal() == expected, f"the stream on {stream.url}", 20)  # type: ignore[misc]


def test_actions_reach_the_phone_system_from_any_server(cluster: Cluster) -> None:
    owners = wait_for(cluster.owners, "a server to run the phone system")
    assert len(owners) == 1
    others = [s for s in cluster.servers if s is not owners[0]]
    # Dialled on one server that does not run the line …
    response = httpx.post(
        f"{others[0].url}/api/dial",
        headers=auth(cluster.token),
        json={"number": "044 668 18 00"},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    call_id = response.json()["call_id"]

    def state() -> str:
        return cluster.journal(others[1])[call_id][0]

    wait_for(lambda: state() == "connected", "the far end to answer the dialled call", 30)
    # … hung up on another.
    response = httpx.post(
        f"{others[1].url}/api/calls/{call_id}/hangup", headers=auth(cluster.token), timeout=15
    )
    assert response.status_code == 200, response.text
    wait_for(lambda: state() == "ended", "the call to end", 30)
