"""The agent protocol end to end on Linux: the real agent uplink and TAPI mapping (only the
TAPI messages are scripted) against a real offhook server on 127.0.0.1 and its journal."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_peer import AgentThread, ScriptedPhone
from offhook_agent import constants as c
from offhook_agent.mapping import CallInfo, PartyId, TapiMessage
from offhook_agent.uplink import AgentStopped
from site_setup import LINE_201, LINE_202, TapiSite, tapi_site
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from offhook.app import Offhook
from offhook.lines.admin import uninstall_driver
from offhook.settings.config import Config
from offhook.store import Store
from tests.livesite import live_server, logged_in

UNKNOWN_LINE = "Swyx Line 299"
CALLER = CallInfo(
    call_id=4711,
    origin=c.LINECALLORIGIN_EXTERNAL,
    caller=PartyId("+41441234567", "Müller AG", c.LINECALLPARTYID_ADDRESS | c.LINECALLPARTYID_NAME),
    called=PartyId("201", "", c.LINECALLPARTYID_ADDRESS),
)


def newcall(hcall: int) -> TapiMessage:
    return TapiMessage(c.LINE_APPNEWCALL, 0x10001, 0, hcall, c.LINECALLPRIVILEGE_MONITOR)


def state(hcall: int, value: int, mode: int = 0) -> TapiMessage:
    return TapiMessage(c.LINE_CALLSTATE, hcall, value, mode, 0)


Agents = Callable[..., AgentThread]


@pytest.fixture
def site(sqlite_store: Store, tmp_path: Path) -> Iterator[TapiSite]:
    with tapi_site(sqlite_store, tmp_path / "offhook") as running:
        yield running


@pytest.fixture
def agents() -> Iterator[Agents]:
    started: list[AgentThread] = []

    def start(
        site: TapiSite, token: str | None = None, keys: list[str] | None = None
    ) -> AgentThread:
        phone = ScriptedPhone(keys or [LINE_201, LINE_202, UNKNOWN_LINE])
        agent = AgentThread(site.base, token or site.agent_token, phone)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()


def test_an_incoming_call_reaches_the_journal_and_only_granted_lines_are_served(
    site: TapiSite, agents: Agents
) -> None:
    agent = agents(site)
    agent.wait_connected()
    assert agent.uplink.served == [LINE_201]
    refused = {r["key"]: r["reason"] for r in agent.uplink.refused}
    assert "may not serve" in refused[LINE_202]  # Bruno's line: not in the token
    assert "no line in offhook" in refused[UNKNOWN_LINE]
    site.client.line_state(site.line_201, "connected")

    agent.feed(LINE_201, newcall(5), CALLER)
    agent.feed(LINE_201, state(5, c.LINECALLSTATE_OFFERING), CALLER)
    ringing = site.client.entry(state="ringing", number="+41441234567")
    assert ringing["direction"] == "incoming"
    assert ringing["remote_name"] == "Müller AG"
    assert ringing["can"]["answer"] and ringing["can"]["hangup"]

    site.client.answer(ringing["id"])
    assert agent.phone.commands[-1] == ("answer", LINE_201, "4711")
    agent.feed(LINE_201, state(5, c.LINECALLSTATE_CONNECTED), CALLER)
    site.client.entry(state="connected", call_id=ringing["id"])
    agent.feed(LINE_201, state(5, c.LINECALLSTATE_DISCONNECTED, 1), CALLER)
    agent.feed(LINE_201, state(5, c.LINECALLSTATE_IDLE), CALLER)
    ended = site.client.entry(state="ended", call_id=ringing["id"])
    assert ended["end_reason"] == "answered"

    # What it says of a line it does not serve is dropped.
    agent.feed(LINE_202, newcall(6), CALLER)
    agent.feed(LINE_202, state(6, c.LINECALLSTATE_OFFERING), CALLER)
    agent.feed(LINE_201, newcall(7), CALLER.__class__(call_id=9, origin=4))
    agent.feed(LINE_201, state(7, c.LINECALLSTATE_OFFERING))
    site.client.entry(state="ringing", besides=[ringing["id"]])
    assert len(site.client.entries()) == 2


def test_dialling_from_the_journal_and_a_refusal_the_user_sees(
    site: TapiSite, agents: Agents
) -> None:
    agent = agents(site)
    agent.wait_connected()
    call_id = site.client.dial("+4930901820")
    kind, key, dial_string = agent.phone.commands[-1]
    assert (kind, key) == ("dial", LINE_201)
    assert dial_string.endswith("30901820")
    agent.feed(
        LINE_201,
        state(1001, c.LINECALLSTATE_CONNECTED),
        CallInfo(call_id=88, origin=c.LINECALLORIGIN_OUTBOUND, called=PartyId(dial_string)),
    )
    connected = site.client.entry(state="connected", call_id=call_id)
    assert connected["direction"] == "outgoing"

    agent.call(lambda: setattr(agent.phone, "refuse_next", "the phone has no dial tone"))
    response = site.client.http.post("/api/dial", json={"number": "+4930901821"})
    assert response.status_code >= 400
    assert "the phone has no dial tone" in response.text


def test_a_revoked_token_is_refused_at_once(site: TapiSite, agents: Agents) -> None:
    agent = agents(site)
    agent.wait_connected()
    tokens = site.client.http.get("/api/drivers/tapi/tokens").json()
    assert [t["line_ids"] for t in tokens] == [[site.line_201]]
    assert "token" not in tokens[0]  # never shown back
    assert site.client.http.delete(f"/api/drivers/tapi/tokens/{tokens[0]['id']}").status_code == 204
    with pytest.raises(AgentStopped, match="revoked"):
        agent.outcome.result(10)
    site.client.line_state(site.line_201, "reconnecting", "agent")
    again = agents(site)
    with pytest.raises(AgentStopped, match="refused"):
        again.outcome.result(10)


def test_a_user_cannot_grant_another_users_line(site: TapiSite) -> None:
    response = site.client.http.post(
        "/api/drivers/tapi/tokens",
        json={"phone_system_id": site.system_id, "line_ids": [site.line_202]},
    )
    assert response.status_code == 422
    assert "your own lines" in response.json()["detail"]
    created = site.client.http.post(
        "/api/drivers/tapi/tokens",
        json={"phone_system_id": site.system_id, "line_ids": [site.line_201], "name": "laptop"},
    )
    assert created.status_code == 201
    assert created.json()["token"].startswith("ohka_")


def test_the_agent_killed_mid_call_loses_nothing(site: TapiSite, agents: Agents) -> None:
    first = agents(site)
    first.wait_connected()
    for hcall, call_id in ((5, 1), (6, 2)):
        info = CallInfo(call_id=call_id, origin=4, caller=PartyId(f"+4144123456{call_id}"))
        first.feed(LINE_201, newcall(hcall), info)
        first.feed(LINE_201, state(hcall, c.LINECALLSTATE_CONNECTED), info)
    one = site.client.entry(state="connected", number="+41441234561")
    two = site.client.entry(state="connected", number="+41441234562")
    first.stop()
    site.client.line_state(site.line_201, "reconnecting", "agent")

    # The agent comes back; TAPI still has call 1 (it reads the line's calls when it opens
    # it), call 2 ended while nobody listened.
    second = agents(site)
    info = CallInfo(call_id=1, origin=4, caller=PartyId("+41441234561"))
    second.feed(LINE_201, newcall(5), info)
    second.feed(LINE_201, state(5, c.LINECALLSTATE_CONNECTED), info)
    second.wait_connected()
    site.client.line_state(site.line_201, "connected")
    site.client.entry(state="ended", call_id=two["id"])
    assert site.client.entries()[one["id"]]["state"] == "connected"


def test_the_server_killed_mid_call_loses_nothing(
    sqlite_store: Store, tmp_path: Path, agents: Agents
) -> None:
    with tapi_site(sqlite_store, tmp_path / "offhook") as site:
        agent = agents(site)
        agent.wait_connected()
        agent.feed(LINE_201, newcall(5), CALLER)
        agent.feed(LINE_201, state(5, c.LINECALLSTATE_OFFERING), CALLER)
        ringing = site.client.entry(state="ringing", number="+41441234567")
    # The server is gone; the call is answered and ended meanwhile.
    agent.feed(LINE_201, state(5, c.LINECALLSTATE_CONNECTED), CALLER)
    agent.feed(LINE_201, state(5, c.LINECALLSTATE_IDLE), CALLER)
    with live_server(Offhook(Config(data_dir=site.data_dir), sqlite_store), site.port) as base:
        agent.wait_connected(timeout=20)
        headers = {"Authorization": f"Bearer {site.client.token}"}

        def entry() -> dict[str, Any]:
            entries = httpx.get(f"{base}/api/journal", headers=headers).json()["entries"]
            found: dict[str, Any] = next(e for e in entries if e["id"] == ringing["id"])
            return found

        deadline = time.monotonic() + 15
        while entry()["state"] != "ended" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert entry()["state"] == "ended"
        assert entry()["end_reason"] == "answered"


def test_agent_tokens_in_the_settings_page(site: TapiSite, agents: Agents) -> None:
    browser, csrf = logged_in(site.base, "anna")
    page = browser.get("/drivers/tapi/agents")
    assert page.status_code == 200, page.text
    assert LINE_201 in page.text and LINE_202 not in page.text  # Bruno's line is not hers
    created = browser.post(
        "/drivers/tapi/agents",
        data={"csrf_token": csrf, "line": str(site.line_201), "name": "Anna's laptop"},
    )
    assert created.status_code == 303
    shown = browser.get("/drivers/tapi/agents").text
    token = re.search(r"data-new-agent-token>([^<]+)<", shown)
    assert token is not None and "Anna&#39;s laptop" in shown
    assert "data-new-agent-token" not in browser.get("/drivers/tapi/agents").text  # once

    agent = agents(site, token.group(1))
    agent.wait_connected()
    assert agent.uplink.served == [LINE_201]
    ids = re.findall(r"/drivers/tapi/agents/(\d+)/revoke", browser.get("/drivers/tapi/agents").text)
    revoked = browser.post(
        f"/drivers/tapi/agents/{max(map(int, ids))}/revoke", data={"csrf_token": csrf}
    )
    assert revoked.status_code == 303
    with pytest.raises(AgentStopped, match="revoked"):
        agent.outcome.result(10)


def test_hostile_messages_are_answered_not_obeyed(site: TapiSite) -> None:
    url = site.base.replace("http://", "ws://") + "/api/drivers/tapi/agent"
    headers = {"Authorization": f"Bearer {site.agent_token}"}
    with connect(url, additional_headers=headers) as ws:
        ws.send(json.dumps({"type": "hello", "lines": [{"key": LINE_201}]}))
        assert json.loads(ws.recv(5))["lines"] == [LINE_201]
        ws.send("{not json")
        assert json.loads(ws.recv(5))["type"] == "error"
        call = {
            "type": "call",
            "seq": 1,
            "key": LINE_201,
            "call_ref": "x1",
            "direction": "incoming",
            "state": "ringing",
        }
        ws.send(json.dumps({**call, "remote_name": "A" * 5000}))  # beyond the bounds
        assert json.loads(ws.recv(5))["type"] == "error"
        ws.send(json.dumps({**call, "state": "exploded"}))
        assert json.loads(ws.recv(5))["type"] == "error"
        ws.send(json.dumps({**call, "key": LINE_202, "call_ref": "x2"}))  # not its line
        assert json.loads(ws.recv(5)) == {"type": "received", "seq": 1}
        ws.send(json.dumps({**call, "remote_number": "<script>+41441234567", "call_ref": "x3"}))
        assert json.loads(ws.recv(5)) == {"type": "received", "seq": 1}
        entry = site.client.entry(state="ringing")
        assert entry["number"]["raw"] == "<script>+41441234567"  # kept as text, escaped by pages
        ws.send("x" * (300 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert len(site.client.entries()) == 1
    with pytest.raises(InvalidStatus):  # no token: refused before the upgrade
        connect(url).close()


def test_a_huge_message_is_cut_off_while_it_arrives(site: TapiSite) -> None:
    """Found while checking issue 8: the agent's 256 KB bound was checked once a message had
    arrived whole, and uvicorn assembled messages of up to 16 MB first. The server now closes
    the connection (1009) once a message passes 1 MB, before the rest is sent."""
    url = site.base.replace("http://", "ws://") + "/api/drivers/tapi/agent"
    headers = {"Authorization": f"Bearer {site.agent_token}"}
    fragment = "x" * (256 * 1024)
    sent = 0

    def fragments() -> Iterator[str]:
        nonlocal sent
        for _ in range(64):  # 16 MB in all
            sent += len(fragment)
            yield fragment
            time.sleep(0.01)  # let the server's answer overtake the rest

    with connect(url, additional_headers=headers, max_size=None) as ws:
        ws.send(json.dumps({"type": "hello", "lines": [{"key": LINE_201}]}))
        assert json.loads(ws.recv(5))["lines"] == [LINE_201]
        with pytest.raises(ConnectionClosed) as closed:
            ws.send(fragments())
            ws.recv(5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert sent < 8 * 1024 * 1024, f"the server took {sent} bytes of one message"


def test_no_agent_endpoint_while_the_driver_is_not_installed(site: TapiSite) -> None:
    with site.store.session() as session:
        uninstall_driver(session, "tapi")
    url = site.base.replace("http://", "ws://") + "/api/drivers/tapi/agent"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers={"Authorization": f"Bearer {site.agent_token}"}).close()
    assert refused.value.response.status_code in (403, 404)
