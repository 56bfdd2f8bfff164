"""The real agent in Windows CPython under Wine, with TAPI from the stand-in tapi32.dll (built
from the SDK header) replaying vendor-like message sequences, against a real offhook on
127.0.0.1: the calls appear in the journal, and the journal's dial, answer and hang-up reach
lineMakeCallW, lineAnswer and lineDrop in the stand-in.

What Wine cannot show is a real vendor driver (TSP) behind TAPISRV: see agent/README.md.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from offhook_agent import constants as c
from offhook_agent.recording import read_recording, replay
from site_setup import LINE_201, TapiSite, tapi_site
from standin import HLINE, Script, build_standin
from wine_env import WINE, require_wine, windows_path, windows_python, wine_env

from offhook.store import Store

CONNECTED = c.LINECALLSTATE_CONNECTED
LONG_NAME = "Genossenschaft " + "Ä" * 700  # more than the agent's first buffer holds


class WineAgent:
    """`python.exe -m offhook_agent run` under Wine, on the stand-in DLL and a script."""

    def __init__(self, site: TapiSite, directory: Path, dll: Path) -> None:
        self.site, self.directory, self.dll = site, directory, dll
        self.log = directory / "tapi.log"
        self.process: subprocess.Popen[str] | None = None

    def start(self, script: Script, name: str, record: Path | None = None) -> None:
        assert WINE is not None
        path = script.write(self.directory / f"{name}.txt")
        command = [
            WINE, str(windows_python()), "-m", "offhook_agent", "--dll", windows_path(self.dll),
            "run", "--server", self.site.base, "--line", LINE_201,
        ]  # fmt: skip
        if record is not None:
            command += ["--record", windows_path(record)]
        env = wine_env(
            OFFHOOK_AGENT_TOKEN=self.site.agent_token,
            OFFHOOK_TAPI_SCRIPT=windows_path(path),
            OFFHOOK_TAPI_LOG=windows_path(self.log),
        )
        # Windows Python under Wine cannot take a plain file as stdout: a pipe, copied to one.
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        threading.Thread(
            target=_copy, args=(self.process, self.directory / f"{name}.out"), daemon=True
        ).start()

    def logged(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists():
                for line in self.log.read_text(encoding="utf-8").splitlines():
                    if text in line:
                        return line
            time.sleep(0.1)
        raise AssertionError(f"the stand-in never logged {text!r}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def _copy(process: subprocess.Popen[str], path: Path) -> None:
    assert process.stdout is not None
    with path.open("w", encoding="utf-8") as out:
        for line in process.stdout:
            out.write(line)
            out.flush()


@pytest.fixture
def wine_agent(sqlite_store: Store, tmp_path: Path) -> Iterator[WineAgent]:
    require_wine()
    windows_python()  # downloads, once, before the server runs
    dll = build_standin(tmp_path)
    with tapi_site(sqlite_store, tmp_path / "offhook") as site:
        agent = WineAgent(site, tmp_path, dll)
        try:
            yield agent
        finally:
            agent.kill()


def first_run() -> Script:
    s = Script().device(7001, LINE_201)
    # Two calls the line has when the agent opens it (lineGetNewCalls).
    s.existing(900, CONNECTED).info(900, 900, c.LINECALLORIGIN_EXTERNAL, "+41440000900")
    s.existing(901, CONNECTED).info(901, 901, c.LINECALLORIGIN_EXTERNAL, "+41440000901")
    s.wait("wait_open", 1)
    # A: caller ID only after CONNECTED, no PROCEEDING, IDLE without DISCONNECTED.
    s.info(5, 4711, c.LINECALLORIGIN_UNKNOWN, called="201")
    s.newcall(5).state(5, c.LINECALLSTATE_OFFERING).wait("sleep", 200)
    s.state(5, c.LINECALLSTATE_UNKNOWN).state(5, CONNECTED)
    s.info(5, 4711, c.LINECALLORIGIN_EXTERNAL, "+41441234567", "Müller AG", "201")
    s.changed(5).wait("sleep", 200).state(5, c.LINECALLSTATE_IDLE)
    # B: two calls at once; the second one missed (the caller gives up), with a long name.
    s.info(11, 11, c.LINECALLORIGIN_EXTERNAL, "+4930901811", "Erste GmbH")
    s.info(12, 12, c.LINECALLORIGIN_INTERNAL, "202", LONG_NAME)
    s.newcall(11).state(11, c.LINECALLSTATE_OFFERING)
    s.newcall(12).state(12, c.LINECALLSTATE_OFFERING)
    s.state(11, CONNECTED).state(11, c.LINECALLSTATE_ONHOLD)
    s.state(12, c.LINECALLSTATE_DISCONNECTED, c.LINEDISCONNECTMODE_CANCELLED)
    s.state(12, c.LINECALLSTATE_IDLE).state(11, CONNECTED)
    s.state(11, c.LINECALLSTATE_DISCONNECTED, c.LINEDISCONNECTMODE_NORMAL)
    s.state(11, c.LINECALLSTATE_IDLE)
    # C: rings until the test answers and hangs up from the journal; then dialling.
    s.info(20, 20, c.LINECALLORIGIN_EXTERNAL, "+41449999020", "Wartet")
    s.newcall(20).state(20, c.LINECALLSTATE_OFFERING)
    s.wait("wait_dial", 77)
    s.state(20, c.LINECALLSTATE_DISCONNECTED, c.LINEDISCONNECTMODE_REJECT)
    s.state(20, c.LINECALLSTATE_IDLE)
    s.info(77, 77, c.LINECALLORIGIN_OUTBOUND, called="030901820")
    s.state(77, c.LINECALLSTATE_DIALING).state(77, c.LINECALLSTATE_RINGBACK)
    s.state(77, CONNECTED).wait("sleep", 200)
    s.state(77, c.LINECALLSTATE_DISCONNECTED, c.LINEDISCONNECTMODE_NORMAL)
    s.state(77, c.LINECALLSTATE_IDLE)
    # D: the Telephony service closes the line; the agent opens it again.
    s.msg(c.LINE_CLOSE, HLINE).wait("wait_open", 2)
    s.info(30, 30, c.LINECALLORIGIN_EXTERNAL, "+41440000030")
    s.newcall(30).state(30, c.LINECALLSTATE_OFFERING)
    # E: REINIT: the agent starts TAPI over.
    s.msg(c.LINE_LINEDEVSTATE, HLINE, c.LINEDEVSTATE_REINIT)
    s.wait("wait_init", 2).wait("wait_open", 3)
    s.info(40, 40, c.LINECALLORIGIN_EXTERNAL, "+41440000040")
    s.newcall(40).state(40, c.LINECALLSTATE_OFFERING)
    # F: the vendor's driver removes the line device, then it appears again.
    s.wait("sleep", 500).msg(c.LINE_REMOVE, 0, 0).wait("sleep", 1500)
    s.msg(c.LINE_CREATE, 0, 0).wait("wait_init", 3).wait("wait_open", 4)
    s.info(50, 50, c.LINECALLORIGIN_EXTERNAL, "+41440000050")
    s.newcall(50).state(50, c.LINECALLSTATE_OFFERING)
    return s


def test_the_agent_under_wine_serves_the_journal(wine_agent: WineAgent) -> None:
    site, client = wine_agent.site, wine_agent.site.client
    recording = wine_agent.directory / "recording.jsonl"
    wine_agent.start(first_run(), "first", record=recording)
    client.line_state(site.line_201, "connected", timeout=60)
    existing = client.entry(state="connected", number="+41440000900", timeout=30)
    gone_later = client.entry(state="connected", number="+41440000901")
    assert "privileges=6" in wine_agent.logged("lineOpenW")  # owner and monitor

    a = client.entry(state="ended", number="+41441234567")
    assert (a["direction"], a["end_reason"], a["remote_name"]) == (
        "incoming",
        "answered",
        "Müller AG",
    )
    first = client.entry(state="ended", number="+4930901811")
    assert first["end_reason"] == "answered"
    second = client.entry(state="ended", number="202")
    assert second["end_reason"] == "missed"
    assert second["remote_name"].startswith("Genossenschaft ÄÄ")
    wine_agent.logged("lineGetCallInfoW hcall=12 needs=")  # grown and read again

    ringing = client.entry(state="ringing", number="+41449999020")
    client.answer(ringing["id"])
    assert wine_agent.logged("lineAnswer hcall=20")
    client.hangup(ringing["id"])
    assert wine_agent.logged("lineDrop hcall=20")

    dialled = client.dial("+4930901820")
    assert "destination=" in wine_agent.logged("lineMakeCallW")
    ended = client.entry(state="ended", call_id=dialled)
    assert [v["state"] for v in client.versions(dialled)][-2:] == ["connected", "ended"]
    assert ended["direction"] == "outgoing" and ended["end_reason"] == "answered"
    rejected = client.entry(state="ended", call_id=ringing["id"])
    assert rejected["end_reason"] == "rejected"

    client.entry(state="ringing", number="+41440000030", timeout=30)  # after LINE_CLOSE
    client.entry(state="ringing", number="+41440000040", timeout=30)  # after REINIT
    client.wait(  # LINE_REMOVE: the line went away (and came back soon after)
        lambda: any("removed" in s["reason"] for s in client.line_states(site.line_201)),
        "the line removed",
    )
    client.entry(state="ringing", number="+41440000050", timeout=30)  # after LINE_CREATE
    client.line_state(site.line_201, "connected")
    assert client.entries()[existing["id"]]["state"] == "connected"

    # Record mode wrote what TAPI said; replayed through the mapping it makes the same calls.
    replayed = {(u.call_ref, u.state) for _, u in replay(read_recording(recording))}
    assert {("4711", "ended"), ("12", "ended"), ("77", "ended"), ("40", "ringing")} <= replayed
    raw = [step for step in read_recording(recording) if step.raw_info]
    assert any(s.info is not None and s.info.caller.name == "Müller AG" for s in raw)

    # The agent is killed mid-call; when it is back, TAPI still has call 900 only.
    wine_agent.kill()
    client.line_state(site.line_201, "reconnecting", "agent", timeout=30)
    second_run = Script().device(7001, LINE_201)
    second_run.existing(900, CONNECTED).info(900, 900, 4, "+41440000900")
    wine_agent.start(second_run, "second")
    client.line_state(site.line_201, "connected", timeout=60)
    client.entry(state="ended", call_id=gone_later["id"], timeout=30)
    assert client.entries()[existing["id"]]["state"] == "connected"
