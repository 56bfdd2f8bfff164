"""The driver against a real Asterisk 22 (built from ../shared/vendor/asterisk) on 127.0.0.1.

SIPp plays the outside caller (a trunk identified by address) and the desk phones (static
contacts that answer; calling out, known by their From user); transfers are AMI actions sent
on a second manager connection, as an operator panel or a phone's transfer key would. The
driver runs in the test kit's context and the tests read the calls it reports, as the core
would hold them.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from offhook.calls import labels
from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.drivers.asterisk import AsteriskDriver
from offhook.drivers.contract import DialRequest, LineState, NotSupported
from offhook.drivers.testing import CallView, RecordingContext
from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store
from offhook.store.models import Call
from offhook.web.app import create_app
from tests import factories
from tests.asterisk.server import MANAGER_SECRET, MANAGER_USER, Asterisk
from tests.livesite import live_server
from tests.sip.peers import Peers, SippRun
from tests.web.conftest import log_in, make_app

SCENARIOS = Path(__file__).parent / "scenarios"
README = Path(__file__).parents[2] / "offhook" / "drivers" / "asterisk" / "README.md"

pytestmark = [
    pytest.mark.asterisk,
    pytest.mark.skipif(not shutil.which("sipp"), reason="needs sipp (apt install sip-tester)"),
]


@pytest.fixture
def asterisk(
    asterisk_prefix: Path, tmp_path: Path, phone_ports: dict[str, int]
) -> Iterator[Asterisk]:
    server = Asterisk(asterisk_prefix, tmp_path / "asterisk", phone_ports).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[Peers]:
    group = Peers(tmp_path / "peers")
    try:
        yield group
    finally:
        group.close()


def _context(asterisk: Asterisk, secret: str = MANAGER_SECRET) -> RecordingContext:
    return RecordingContext(
        options={
            "port": asterisk.ami_port,
            "username": MANAGER_USER,
            "secret": secret,
            "originate_context": "internal",  # the test dialplan's (FreePBX: from-internal)
        },
        lines={1: "PJSIP/201", 2: "202"},
    )


@pytest.fixture
async def line(asterisk: Asterisk) -> AsyncIterator[tuple[RecordingContext, AsteriskDriver]]:
    context = _context(asterisk)
    driver = AsteriskDriver(context)
    await driver.start()
    try:
        await context.connected()
        yield context, driver
    finally:
        await driver.stop()
    assert context.crashes == []


async def test_incoming_call_rings_connects_and_ends_with_the_callers_utf8_name(
    asterisk: Asterisk, peers: Peers, line: tuple[RecordingContext, AsteriskDriver]
) -> None:
    context, _ = line
    peers.sipp("uas_answer", port=asterisk.phones["201"], service="201")
    peers.sipp(
        "uac_cid",
        f"127.0.0.1:{asterisk.sip_port}",
        service="+41446681800",
        cid_from='"Müller AG" <sip:+41441234567@127.0.0.1>',
        pause_ms=1500,
    )
    call = await context.call(CallState.RINGING, line_id=1)
    assert call.direction is Direction.INCOMING
    assert call.remote_number == "+41441234567"
    assert call.remote_name == "Müller AG"
    await context.call(CallState.CONNECTED, line_id=1)
    ended = await context.call(CallState.ENDED, line_id=1)
    assert ended.legs == {1: CallState.ENDED}
    assert ended.last.end_reason is None  # answered: the core derives it


@pytest.mark.parametrize(
    "number",
    ["600", "800", "610"],
    ids=["ring group", "queue", "FreePBX ring group through Local channels"],
)
async def test_ring_group_answered_by_one_is_answered_elsewhere_on_the_other(
    asterisk: Asterisk,
    peers: Peers,
    line: tuple[RecordingContext, AsteriskDriver],
    number: str,
) -> None:
    context, _ = line
    peers.sipp("uas_noanswer", port=asterisk.phones["201"], service="201")
    peers.sipp(str(SCENARIOS / "uas_ring_answer"), port=asterisk.phones["202"], service="202")
    peers.sipp(
        "uac_cid",
        f"127.0.0.1:{asterisk.sip_port}",
        service=number,
        cid_from='"Caller" <sip:+41441234567@127.0.0.1>',
        pause_ms=1000,
    )
    answered = await context.call(CallState.CONNECTED, line_id=2)
    assert answered.remote_number == "+41441234567"
    await context.call(CallState.ENDED, line_id=2)
    assert answered.legs[1] is CallState.ENDED  # the same call (Linkedid) on both lines
    other = [e for e in context.events if e.line_id == 1 and e.state is CallState.ENDED]
    assert [e.end_reason for e in other] == [EndReason.ANSWERED_ELSEWHERE]


@pytest.mark.parametrize(
    "number",
    ["700", "710"],
    ids=["the dialplan answers", "app_voicemail answers (VoiceMail(201@default,s))"],
)
async def test_no_answer_then_the_pbx_takes_the_call_is_missed(
    asterisk: Asterisk,
    peers: Peers,
    line: tuple[RecordingContext, AsteriskDriver],
    number: str,
) -> None:
    context, _ = line
    caller = _outside_call_ringing_201(asterisk, peers, pause_ms=500, number=number)
    call = await context.call(CallState.ENDED, line_id=1)
    assert call.last.end_reason is EndReason.MISSED
    assert call.remote_number == "+41441234567"
    # The PBX answered the caller (Up), but no line did.
    await context.wait_for(lambda: not context.open_calls(), "the call over")
    assert CallState.CONNECTED not in {e.state for e in context.events}
    if number == "710":
        # app_voicemail took the call for 201's mailbox (it makes the INBOX to record into;
        # SIPp's caller sends no audio, so no message is kept).
        inbox = asterisk.directory / "spool" / "voicemail" / "default" / "201" / "INBOX"
        await context.wait_for(inbox.is_dir, "app_voicemail taking the call")
    assert await caller.result() == 0, caller.errors()  # answered by the PBX, hung up by the caller
    assert CallState.CONNECTED not in {e.state for e in context.events}


def _readme_caller_name_dialplan(base: str, system_id: int, token: str) -> str:
    """The dialplan lines the README gives to paste, pointed at this offhook."""
    block = README.read_text(encoding="utf-8").split("Dialplan (plain Asterisk", 1)[1]
    lines = re.findall(r"^same => n,.*$", block.split("```")[1], re.MULTILINE)
    assert len(lines) == 3, lines
    return "".join(
        " "
        + line.replace("https://crm.example.com", base)
        .replace("/caller-name/3?", f"/caller-name/{system_id}?")
        .replace("YOUR_TOKEN", token)
        + "\n"
        for line in lines
    )


async def test_the_readme_dialplan_puts_the_crm_name_on_the_ringing_phone(
    asterisk_prefix: Path,
    tmp_path: Path,
    phone_ports: dict[str, int],
    peers: Peers,
    sqlite_store: Store,
) -> None:
    """Asterisk's CURL() asks offhook's caller-name endpoint (a real server) with the README's
    lines; the phone rings with the CRM's name instead of the name the trunk sent."""
    token = "pbx-token-5f1e0c7a9b"
    factories.address(sqlite_store, numbers=(("phone", "+41 44 123 45 67"),))
    with sqlite_store.session() as session:
        install_driver(session, "asterisk", auto_load=False)
        system_id = add_phone_system(
            session,
            "asterisk",
            "pbx",
            {"username": MANAGER_USER, "secret": MANAGER_SECRET, "caller_name_token": token},
        ).id
    with live_server(make_app(sqlite_store, tmp_path)) as base:
        dialplan = "exten => 650,1,NoOp(caller name from offhook)\n"
        dialplan += _readme_caller_name_dialplan(base, system_id, token)
        dialplan += " same => n,Dial(PJSIP/201,20)\n same => n,Hangup()\n"
        server = Asterisk(
            asterisk_prefix, tmp_path / "asterisk", phone_ports, trunk_dialplan=dialplan
        ).start()
        context = _context(server)
        driver = AsteriskDriver(context)
        try:
            await driver.start()
            await context.connected()
            peers.sipp("uas_noanswer", port=server.phones["201"], service="201")
            peers.sipp(
                "uac_cid",
                f"127.0.0.1:{server.sip_port}",
                service="650",
                cid_from='"Trunk Name" <sip:+41441234567@127.0.0.1>',
                pause_ms=1000,
            )
            call = await context.call(CallState.RINGING, line_id=1)
        finally:
            await driver.stop()
            server.stop()
    assert call.remote_number == "+41441234567"
    assert call.remote_name == "Anna Müller Muster AG"


async def test_click_to_dial_rings_the_phone_then_the_number(
    asterisk: Asterisk, peers: Peers, line: tuple[RecordingContext, AsteriskDriver]
) -> None:
    context, driver = line
    peers.sipp("uas_answer", port=asterisk.phones["201"], service="201")
    await driver.dial(1, DialRequest(dial_ref="d-1", number="300", dial_string="300"))
    call = await context.call(CallState.DIALLING, line_id=1, dial_ref="d-1")
    assert call.direction is Direction.OUTGOING and call.remote_number == "300"
    await context.call(CallState.CONNECTED, line_id=1, dial_ref="d-1")
    await context.call(CallState.ENDED, line_id=1, dial_ref="d-1")


def _wait(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_journal_shows_the_ringing_call_and_says_why_it_offers_no_answer(
    asterisk: Asterisk, peers: Peers, sqlite_store: Store, tmp_path: Path
) -> None:
    """Through the whole of offhook (the phone system set up as the README says, the journal
    API, the store): a call ringing at 201 offers no answer button but says to pick up the
    phone; answering through the API is refused with the reason; the call ends missed."""
    with sqlite_store.session() as session:
        install_driver(session, "asterisk")
        anna = add_user(session, "anna", "Anna Keller", factories.PASSWORD, "user", None)
        system = add_phone_system(
            session,
            "asterisk",
            "pbx",
            {
                "port": asterisk.ami_port,
                "username": MANAGER_USER,
                "secret": MANAGER_SECRET,
                "originate_context": "internal",
            },
        )
        add_line(session, anna, system, "201", "desk phone")
    app = create_app(make_app(sqlite_store, tmp_path))
    with TestClient(app, follow_redirects=False) as client:
        csrf = log_in(client, "anna")

        def journal() -> dict[str, Any]:
            response = client.get("/api/journal")
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()
            return data

        _wait(lambda: journal()["lines"][0]["state"] == "connected", "the AMI connection")
        _outside_call_ringing_201(asterisk, peers, pause_ms=3000)
        [ringing] = _wait(
            lambda: [e for e in journal()["entries"] if e["state"] == "ringing"], "the ringing"
        )
        assert ringing["direction"] == "incoming"
        assert ringing["number"]["raw"] == "+41441234567" and ringing["remote_name"] == "Caller"
        assert not ringing["can"]["answer"]
        assert ringing["answer_note"] == labels.ANSWER_ON_THE_PHONE
        refused = client.post(f"/api/calls/{ringing['id']}/answer", headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 409 and "pick up the phone" in refused.json()["detail"]
        [ended] = _wait(
            lambda: [e for e in journal()["entries"] if e["state"] == "ended"], "the call's end"
        )
        assert ended["id"] == ringing["id"] and ended["end_reason"] == "missed"
        assert ended["answer_note"] is None
    with sqlite_store.session() as session:
        [call] = session.scalars(select(Call)).all()
        assert (call.direction, call.state, call.end_reason) == ("incoming", "ended", "missed")
        assert call.remote_number == "+41441234567" and call.connected_at is None


async def test_hanging_up_from_offhook_rejects_a_ringing_call_and_ends_a_connected_one(
    asterisk: Asterisk, peers: Peers, line: tuple[RecordingContext, AsteriskDriver]
) -> None:
    """The journal's Reject and Hang up buttons: AMI Hangup on the line's channel."""
    context, driver = line
    # Rung at 201 (which never answers): rejected from offhook, the phone stops ringing.
    _outside_call_ringing_201(asterisk, peers, pause_ms=8000)
    ringing = await context.call(CallState.RINGING, line_id=1)
    await driver.hangup(1, ringing.call_ref)
    rejected = await context.call(CallState.ENDED, line_id=1)
    assert rejected.last.end_reason is EndReason.REJECTED
    assert await asyncio.to_thread(asterisk.channels, "PJSIP/201-") == []
    # Phone 201 calls 202, which answers; 201 waits for the other side to hang up: offhook
    # hangs up 202's call.
    peers.sipp("uas_answer", port=asterisk.phones["202"], service="202")
    caller = peers.sipp(
        "uac_wait_bye",
        f"127.0.0.1:{asterisk.sip_port}",
        service="202",
        cid_from='"Phone 201" <sip:201@127.0.0.1>',
        timeout=20,
    )
    connected = await context.call(CallState.CONNECTED, line_id=2)
    await driver.hangup(2, connected.call_ref)
    ended = await context.call(CallState.ENDED, line_id=2)
    assert ended.last.end_reason is None  # answered: the core derives it
    assert await caller.result() == 0, caller.errors()  # the caller got the BYE


async def test_answer_is_not_offered_and_says_why(
    line: tuple[RecordingContext, AsteriskDriver],
) -> None:
    _, driver = line
    assert AsteriskDriver.can_answer is False
    with pytest.raises(NotSupported, match="pick up the phone"):
        await driver.answer(1, "x")


async def test_a_refused_login_shows_asterisks_reason(asterisk: Asterisk) -> None:
    context = _context(asterisk, secret="wrong")
    driver = AsteriskDriver(context)
    await driver.start()
    try:
        await context.wait_for(lambda: context.state is LineState.FAILED, "the login refused")
    finally:
        await driver.stop()
    reason = context.statuses[-1][1]
    assert "refused the AMI login" in reason and "wrong" not in reason


async def test_an_ami_user_without_the_reporting_right_is_told_what_to_add(
    asterisk_prefix: Path, tmp_path: Path, phone_ports: dict[str, int]
) -> None:
    """Without `write = reporting` Asterisk refuses CoreShowChannels: the line says so at once
    (instead of waiting for a list that never comes) and names the right to add."""
    server = Asterisk(
        asterisk_prefix, tmp_path / "asterisk", phone_ports, manager_write="originate,call"
    ).start()
    context = _context(server)
    driver = AsteriskDriver(context)
    try:
        await driver.start()
        await context.wait_for(lambda: context.state is LineState.FAILED, "the listing refused")
    finally:
        await driver.stop()
        server.stop()
    reason = context.statuses[-1][1]
    assert "Permission denied" in reason and "write = reporting" in reason
    assert LineState.CONNECTED not in [state for state, _ in context.statuses]


async def test_asterisk_killed_mid_call_reconnects_and_ends_the_call(
    asterisk: Asterisk, peers: Peers, line: tuple[RecordingContext, AsteriskDriver]
) -> None:
    context, _ = line
    peers.sipp("uas_answer", port=asterisk.phones["201"], service="201")
    peers.sipp(
        "uac_cid",
        f"127.0.0.1:{asterisk.sip_port}",
        service="+41446681800",
        cid_from='"Caller" <sip:+41441234567@127.0.0.1>',
        pause_ms=20000,
    )
    call = await context.call(CallState.CONNECTED, line_id=1)
    asterisk.kill()
    await context.wait_for(
        lambda: context.state is LineState.RECONNECTING, "the connection noticed lost"
    )
    asterisk.start()
    await context.wait_for(
        lambda: context.state is LineState.CONNECTED and len(context.reconciliations) >= 2,
        "reconnected and reconciled",
        timeout=60,
    )
    assert call.call_ref not in context.reconciliations[-1]
    assert context.calls[call.call_ref].legs[1] is CallState.ENDED


CALLER = '"Caller" <sip:+41441234567@127.0.0.1>'


def _outside_call_ringing_201(
    asterisk: Asterisk, peers: Peers, *, pause_ms: int, number: str = "+41446681800"
) -> SippRun:
    """Desk phone 201 rings and never answers; an outside caller (CALLER) calls `number` on
    the trunk and holds on for `pause_ms`. The caller's SIPp run is returned."""
    peers.sipp("uas_noanswer", port=asterisk.phones["201"], service="201")
    return peers.sipp(
        "uac_cid",
        f"127.0.0.1:{asterisk.sip_port}",
        service=number,
        cid_from=CALLER,
        pause_ms=pause_ms,
    )


def _events(context: RecordingContext, line_id: int, state: CallState) -> list[CallEvent]:
    return [e for e in context.events if e.line_id == line_id and e.state is state]


async def _channel(asterisk: Asterisk, prefix: str) -> str:
    found = await asyncio.to_thread(asterisk.channels, prefix)
    assert len(found) == 1, found
    return found[0]


async def test_internal_call_each_user_sees_the_colleague(
    asterisk: Asterisk, peers: Peers, line: tuple[RecordingContext, AsteriskDriver]
) -> None:
    context, _ = line
    peers.sipp(str(SCENARIOS / "uas_ring_answer"), port=asterisk.phones["202"], service="202")
    # Phone 201 dials 202 (SIPp as the desk phone, known to Asterisk by its From user).
    peers.sipp(
        "uac_cid",
        f"127.0.0.1:{asterisk.sip_port}",
        service="202",
        cid_from='"Phone 201" <sip:201@127.0.0.1>',
        pause_ms=1500,
    )
    await context.call(CallState.CONNECTED, line_id=1)
    await context.call(CallState.CONNECTED, line_id=2)
    await context.call(CallState.ENDED, line_id=1)
    await context.call(CallState.ENDED, line_id=2)
    first = _events(context, 1, CallState.CONNECTED)[0]
    assert first.direction is Direction.OUTGOING and first.remote_number == "202"
    second = _events(context, 2, CallState.RINGING)[0]
    assert second.direction is Direction.INCOMING
    assert (second.remote_number, second.remote_name) == ("201", "Phone 201")
    assert _events(context, 2, CallState.CONNECTED)[0].remote_number == "201"
    # Answered: the core derives the outcome; nothing says missed or cancelled.
    assert [e.end_reason for e in _events(context, 1, CallState.ENDED)] == [None]
    assert [e.end_reason for e in _events(context, 2, CallState.ENDED)] == [None]


@pytest.mark.parametrize(
    "code",
    ["*8201", "*8"],
    ids=["directed: PickupChan(PJSIP/201)", "group: features.conf pickupexten *8"],
)
async def test_pickup_connects_the_picker_and_the_rung_phone_shows_answered_elsewhere(
    asterisk: Asterisk,
    peers: Peers,
    line: tuple[RecordingContext, AsteriskDriver],
    code: str,
) -> None:
    context, _ = line
    _outside_call_ringing_201(asterisk, peers, pause_ms=1500)
    await context.call(CallState.RINGING, line_id=1)
    # Phone 202 dials the pickup code and takes the call ringing at 201.
    peers.sipp(
        "uac_cid",
        f"127.0.0.1:{asterisk.sip_port}",
        service=code,
        cid_from='"Phone 202" <sip:202@127.0.0.1>',
        pause_ms=1500,
    )
    picked = await context.call(CallState.CONNECTED, line_id=2)
    assert picked.direction is Direction.INCOMING
    assert _events(context, 2, CallState.CONNECTED)[-1].remote_number == "+41441234567"
    await context.call(CallState.ENDED, line_id=2)
    rung = _events(context, 1, CallState.ENDED)
    assert [e.end_reason for e in rung] == [EndReason.ANSWERED_ELSEWHERE]
    assert not _events(context, 1, CallState.CONNECTED)


async def _caller_talking_to_201(
    asterisk: Asterisk, peers: Peers, context: RecordingContext, pause_ms: int
) -> tuple[CallView, str]:
    """The outside caller on 900 talks to 201 (for `pause_ms`), 202 will ring and answer:
    returns 201's call and its channel, for the transfer."""
    peers.sipp("uas_answer", port=asterisk.phones["201"], service="201")
    peers.sipp(str(SCENARIOS / "uas_ring_answer"), port=asterisk.phones["202"], service="202")
    peers.sipp(
        "uac_cid",
        f"127.0.0.1:{asterisk.sip_port}",
        service="900",
        cid_from=CALLER,
        pause_ms=pause_ms,
    )
    first = await context.call(CallState.CONNECTED, line_id=1)
    return first, await _channel(asterisk, "PJSIP/201-")


async def test_blind_transfer_moves_the_caller_to_the_colleague(
    asterisk: Asterisk, peers: Peers, line: tuple[RecordingContext, AsteriskDriver]
) -> None:
    context, _ = line
    first, transferer = await _caller_talking_to_201(asterisk, peers, context, pause_ms=6000)
    # 201's transfer key, as an operator panel sends it over AMI.
    response = await asterisk.action(
        Action="BlindTransfer", Channel=transferer, Exten="202", Context="internal"
    )
    assert response["Response"] == "Success", response
    now = await context.call(CallState.CONNECTED, line_id=2)
    assert now.direction is Direction.INCOMING
    assert _events(context, 2, CallState.CONNECTED)[-1].remote_number == "+41441234567"
    await context.wait_for(
        lambda: context.calls[first.call_ref].legs[1] is CallState.ENDED, "201's part ended"
    )
    assert [e.end_reason for e in _events(context, 1, CallState.ENDED)] == [None]  # answered
    await context.call(CallState.ENDED, line_id=2)


async def test_a_phone_transferring_by_sip_refer_hands_the_caller_to_the_colleague(
    asterisk: Asterisk, peers: Peers, line: tuple[RecordingContext, AsteriskDriver]
) -> None:
    """201's own transfer key: an in-dialog REFER to 202 (no AMI action involved)."""
    context, _ = line
    transferer = peers.sipp(
        str(SCENARIOS / "uas_answer_refer"), port=asterisk.phones["201"], service="201"
    )
    peers.sipp(str(SCENARIOS / "uas_ring_answer"), port=asterisk.phones["202"], service="202")
    caller = peers.sipp(
        "uac_cid",
        f"127.0.0.1:{asterisk.sip_port}",
        service="900",
        cid_from=CALLER,
        pause_ms=6000,
    )
    first = await context.call(CallState.CONNECTED, line_id=1)
    now = await context.call(CallState.CONNECTED, line_id=2)
    assert now.direction is Direction.INCOMING
    assert all(e.direction is Direction.INCOMING for e in _events(context, 2, CallState.RINGING))
    assert _events(context, 2, CallState.CONNECTED)[-1].remote_number == "+41441234567"
    # Asterisk accepted the REFER and hung 201 up: 201's call ended, answered.
    assert await transferer.result() == 0, transferer.errors()
    await context.wait_for(
        lambda: context.calls[first.call_ref].legs[1] is CallState.ENDED, "201's part ended"
    )
    assert [e.end_reason for e in _events(context, 1, CallState.ENDED)] == [None]
    # The caller still talks, to 202 now, and hangs up: 202's call ends answered.
    assert await caller.result() == 0, caller.errors()
    await context.call(CallState.ENDED, line_id=2)
    assert [e.end_reason for e in _events(context, 2, CallState.ENDED)] == [None]
    assert context.open_calls() == []


async def test_attended_transfer_hands_the_caller_to_the_colleague(
    asterisk: Asterisk, peers: Peers, line: tuple[RecordingContext, AsteriskDriver]
) -> None:
    context, _ = line
    first, transferer = await _caller_talking_to_201(asterisk, peers, context, pause_ms=8000)
    # 201 consults 202 (Atxfer dials the features.conf code, *2, on 201's channel)...
    response = await asterisk.action(
        Action="Atxfer", Channel=transferer, Exten="202", Context="internal"
    )
    assert response["Response"] == "Success", response
    await context.call(CallState.CONNECTED, line_id=2)
    # ...and hangs up, which completes the transfer: the caller now talks to 202.
    response = await asterisk.action(Action="Hangup", Channel=transferer)
    assert response["Response"] == "Success", response
    await context.wait_for(
        lambda: any(
            e.remote_number == "+41441234567" for e in _events(context, 2, CallState.CONNECTED)
        ),
        "202 connected with the caller",
    )
    assert all(e.direction is Direction.INCOMING for e in _events(context, 2, CallState.RINGING))
    await context.wait_for(
        lambda: all(view.legs.get(1) in (None, CallState.ENDED) for view in context.calls.values()),
        "201's calls ended",
    )
    assert context.calls[first.call_ref].legs[1] is CallState.ENDED
    await context.call(CallState.ENDED, line_id=2)


async def test_a_restart_ends_the_ringing_call_and_calls_after_it_are_seen(
    asterisk: Asterisk, peers: Peers, line: tuple[RecordingContext, AsteriskDriver]
) -> None:
    context, _ = line
    _outside_call_ringing_201(asterisk, peers, pause_ms=1000)
    ringing = await context.call(CallState.RINGING, line_id=1)
    await asyncio.to_thread(asterisk.restart)
    await context.wait_for(
        lambda: any(s is LineState.RECONNECTING for s, _ in context.statuses),
        "the shutdown noticed",
    )
    await asyncio.to_thread(asterisk.wait_fully_booted)
    await context.wait_for(
        lambda: context.state is LineState.CONNECTED and len(context.reconciliations) >= 2,
        "reconnected and reconciled",
        timeout=60,
    )
    # Nothing stays ringing: Asterisk hung the call up as it went down (cause 0); it rang
    # and nobody answered, so it is missed.
    assert context.calls[ringing.call_ref].legs[1] is CallState.ENDED
    assert [e.end_reason for e in _events(context, 1, CallState.ENDED)] == [EndReason.MISSED]
    assert not _events(context, 1, CallState.CONNECTED)
    assert context.open_calls() == []
    # The new connection follows calls again: 201 calls 202 after the restart.
    peers.sipp(str(SCENARIOS / "uas_ring_answer"), port=asterisk.phones["202"], service="202")
    peers.sipp(
        "uac_cid",
        f"127.0.0.1:{asterisk.sip_port}",
        service="202",
        cid_from='"Phone 201" <sip:201@127.0.0.1>',
        pause_ms=500,
    )
    after = await context.call(CallState.CONNECTED, line_id=2)
    assert after.call_ref != ringing.call_ref
    await context.call(CallState.ENDED, line_id=2)
