"""Managed mode: offhook runs baresip for the line; through Kamailio as registrar and proxy.

Kamailio plays the PBX: the line's account registers there, callers reach it through Kamailio,
and numbers that are not registered users go to a SIPp "trunk", as a PBX sends external calls.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from conftest import Line, managed_options, needs_peers
from peers import HAVE_KAMAILIO, LOOPBACK, Peers, free_port

from offhook.calls.events import CallState, Direction, EndReason, HangupSide
from offhook.drivers.contract import DialRequest, LineState

pytestmark = [pytest.mark.sip, needs_peers]
needs_kamailio = pytest.mark.skipif(not HAVE_KAMAILIO, reason="needs kamailio")

PASSWORD = "pw-Zq8xK2vLm"


@needs_kamailio
async def test_registered_line_through_kamailio(
    peers: Peers, make_line: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    trunk_port = free_port()
    pbx = peers.kamailio(gateway_port=trunk_port)
    domain = f"{LOOPBACK}:{pbx.port}"
    line: Line = await make_line(
        managed_options(
            tmp_path,
            f"sip:alice@{domain}",
            registrar=f"sip:{domain}",
            auth_user="alice",
            password=PASSWORD,
        )
    )
    await line.context.wait_for(
        lambda: (
            line.context.state is LineState.CONNECTED
            and "registered" in line.context.statuses[-1][1]
        ),
        "the line registered at Kamailio",
    )

    # A caller reaches the line through the PBX, caller ID intact.
    caller = peers.sipp(
        "uac_cid", domain, cid_from='"Anna Müller" <sip:+41441234567@127.0.0.1>', pause_ms=50
    )
    ringing = await line.context.call(CallState.RINGING, direction=Direction.INCOMING)
    assert (ringing.remote_number, ringing.remote_name) == (
        "sip:+41441234567@127.0.0.1",
        "Anna Müller",
    )
    await line.driver.answer(line.driver.line_id, ringing.call_ref)
    ended = await line.context.call(CallState.ENDED, direction=Direction.INCOMING)
    assert ended.last.end_reason is EndReason.ANSWERED
    assert ended.last.hangup_by is HangupSide.REMOTE
    assert await caller.result() == 0, caller.errors()

    # A bare number is completed to the account's domain; the PBX sends it to its trunk.
    trunk = peers.sipp("uas_answer", port=trunk_port)
    await line.driver.dial(
        line.driver.line_id, DialRequest("dial-pbx", "+41441234567", "0441234567")
    )
    connected = await line.context.call(CallState.CONNECTED, dial_ref="dial-pbx")
    assert connected.remote_number == f"sip:0441234567@{domain}"
    await line.driver.hangup(line.driver.line_id, connected.call_ref)
    ended = await line.context.call(CallState.ENDED, dial_ref="dial-pbx")
    assert ended.last.end_reason is EndReason.ANSWERED
    assert await trunk.result() == 0, trunk.errors()

    # The password is on disk only in baresip's accounts file, readable by us alone...
    accounts = tmp_path / "line" / "accounts"
    assert PASSWORD in accounts.read_text()
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "line").stat().st_mode) == 0o700
    # ...and nowhere in what offhook logs or shows.
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in reason for _, reason in line.context.statuses)
    assert PASSWORD not in repr(line.driver.options)

    await line.driver.stop()
    assert not accounts.exists(), "the password stays on disk after the line stopped"


@needs_kamailio
async def test_refused_registration_is_shown_on_the_line(
    peers: Peers, make_line: Any, tmp_path: Path
) -> None:
    """The PBX refuses the account (as for a wrong password): the line says so."""
    pbx = peers.kamailio()
    domain = f"{LOOPBACK}:{pbx.port}"
    line: Line = await make_line(
        managed_options(tmp_path, f"sip:mallory@{domain}", registrar=domain, password="wrong")
    )
    state, reason = await line.context.wait_for(
        lambda: next((s for s in line.context.statuses if "not registered" in s[1]), None),
        "the line to report the refused registration",
    )
    assert state is LineState.RECONNECTING
    assert "403 Forbidden" in reason
    assert "wrong" not in reason.replace("wrong password", "")
