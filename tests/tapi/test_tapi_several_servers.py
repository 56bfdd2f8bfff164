"""An agent connected to a server that does not run its phone system (issue 13: the reverse
proxy does not know which one does): three real servers on one PostgreSQL and a Redis of the
test's own, the real agent uplink. Its calls reach the journal, actions from any server reach
it, and when the server that runs the phone system is killed (kill -9) during a burst of
calls, the agent ends up served by the new one and no call it reported is missing.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_peer import AgentThread, ScriptedPhone
from offhook_agent import constants as c
from offhook_agent.mapping import CallInfo, PartyId, TapiMessage
from site_setup import LINE_201, prepare
from sqlalchemy import select

from offhook.store import Store
from offhook.store.models import Call
from tests.conftest import make_store
from tests.redisserver import RedisServer
from tests.web.test_fanout import Server, auth, start_server, wait_for

pytestmark = pytest.mark.postgres

#: Calls in the burst, fed as fast as the agent takes them (five messages each).
CALLS = 150


def newcall(hcall: int) -> TapiMessage:
    return TapiMessage(c.LINE_APPNEWCALL, 0x10001, 0, hcall, c.LINECALLPRIVILEGE_MONITOR)


def state(hcall: int, value: int, mode: int = 0) -> TapiMessage:
    return TapiMessage(c.LINE_CALLSTATE, hcall, value, mode, 0)


class Cluster:
    def __init__(
        self, servers: list[Server], store: Store, system_id: int, token: str, agent_token: str
    ) -> None:
        self.servers = servers
        self.store = store
        self.system_id = system_id
        self.token = token  # Anna's journal
        self.agent_token = agent_token  # may serve line 201

    def owner(self) -> Server | None:
        alive = [s for s in self.servers if s.process.poll() is None]
        started = f"phone system {self.system_id} is connected"
        running = [s for s in alive if started in s.logged()]
        return running[0] if len(running) == 1 else None

    def up(self) -> bool:
        for server in self.servers:
            if server.process.poll() is not None:
                raise AssertionError(f"a server exited:\n{server.logged()}")
        try:
            return all(self._journal(server).status_code == 200 for server in self.servers)
        except httpx.TransportError:
            return False

    def _journal(self, server: Server) -> httpx.Response:
        return httpx.get(f"{server.url}/api/journal", headers=auth(self.token), timeout=10)

    def entries(self, server: Server) -> list[dict[str, Any]]:
        response = self._journal(server)
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries

    def stored(self) -> dict[str, str]:
        """Each call's reference and state, as stored."""
        with self.store.session() as session:
            return {ref: value for ref, value in session.execute(select(Call.call_ref, Call.state))}


@pytest.fixture
def pg_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from make_store("postgres", tmp_path, request)


@pytest.fixture
def cluster(pg_store: Store, tmp_path: Path) -> Iterator[Cluster]:
    store = pg_store
    system_id, _line_201, _line_202, agent_token, anna_token, _admin = prepare(store)
    redis = RedisServer(tmp_path)
    redis.start()
    url = store.engine.url.render_as_string(hide_password=False)
    servers = [start_server(tmp_path, name, url, redis.url) for name in ("a", "b", "c")]
    cluster = Cluster(servers, store, system_id, anna_token, agent_token)
    try:
        wait_for(cluster.up, "three servers", 180)
        wait_for(cluster.owner, "one server to run the phone system", 30)
        yield cluster
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


@pytest.fixture
def agent(cluster: Cluster) -> Iterator[AgentThread]:
    owner = cluster.owner()
    elsewhere = next(s for s in cluster.servers if s is not owner)
    started = AgentThread(elsewhere.url, cluster.agent_token, ScriptedPhone([LINE_201]))
    yield started
    started.stop()


def call_info(n: int) -> CallInfo:
    return CallInfo(call_id=1000 + n, origin=4, caller=PartyId(f"+414412{n:05d}"))


def test_an_agent_on_another_server_reports_calls_and_takes_actions(
    cluster: Cluster, agent: AgentThread
) -> None:
    owner = cluster.owner()
    agent.wait_connected(timeout=30)
    assert agent.uplink.served == [LINE_201]
    info = call_info(1)
    agent.feed(LINE_201, newcall(5), info)
    agent.feed(LINE_201, state(5, c.LINECALLSTATE_OFFERING), info)
    # Seen on the third server (neither the agent's nor the owner's) …
    port = agent.uplink.url.split(":")[2].split("/")[0]
    third = next(s for s in cluster.servers if s is not owner and not s.url.endswith(port))

    def ringing() -> dict[str, Any] | None:
        return next((e for e in cluster.entries(third) if e["state"] == "ringing"), None)

    entry = wait_for(ringing, "the ringing call in the journal")
    # … and answered from there: the command travels to the owner, and on to the agent
    # through the server it is connected to.
    response = httpx.post(
        f"{third.url}/api/calls/{entry['id']}/answer", headers=auth(cluster.token), timeout=30
    )
    assert response.status_code == 200, response.text
    assert agent.phone.commands[-1] == ("answer", LINE_201, "1001")


def test_the_owner_killed_during_a_burst_loses_no_call_the_agent_reported(
    cluster: Cluster, agent: AgentThread
) -> None:
    owner = cluster.owner()
    assert owner is not None
    agent.wait_connected(timeout=30)
    fed: list[str] = []

    def burst() -> None:
        for n in range(CALLS):
            info = call_info(n)
            hcall = 100 + n
            agent.feed(LINE_201, newcall(hcall), info)
            agent.feed(LINE_201, state(hcall, c.LINECALLSTATE_OFFERING), info)
            agent.feed(LINE_201, state(hcall, c.LINECALLSTATE_CONNECTED), info)
            agent.feed(LINE_201, state(hcall, c.LINECALLSTATE_DISCONNECTED, 1), info)
            agent.feed(LINE_201, state(hcall, c.LINECALLSTATE_IDLE), info)
            fed.append(str(1000 + n))

    feeding = threading.Thread(target=burst)
    feeding.start()
    wait_for(lambda: len(fed) > 10, "the burst to be under way")
    os.kill(owner.process.pid, signal.SIGKILL)
    killed_after = len(fed)
    feeding.join(120)
    assert len(fed) == CALLS > killed_after

    # The agent is served again (by the new owner, still through its own server) and every
    # call it reported is stored, ended, once.
    def all_stored() -> dict[str, str] | None:
        stored = cluster.stored()
        done = all(stored.get(ref) == "ended" for ref in fed)
        return stored if done else None

    stored = wait_for(all_stored, "every call the agent reported to be stored, ended", 90)
    assert sorted(stored) == sorted(fed)
    new_owner = cluster.owner()
    assert new_owner is not None and new_owner is not owner
