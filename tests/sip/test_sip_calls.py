"""The sip driver against a real baresip, with SIPp as the far end: every call flow of issue 4.

Each test starts its own baresip on free ports and attaches a line to it; SIPp places or takes
the call. Assertions are on the call events the driver reports (as the core would see them).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import Line, needs_peers
from peers import LOOPBACK, Peers

from offhook.calls.events import CallState, Direction, EndReason, HangupSide
from offhook.drivers.contract import DialRequest, DriverError, LineState

pytestmark = [pytest.mark.sip, needs_peers]

HANS = '"Hans Muster" <sip:+41441234567@127.0.0.1>'


async def test_incoming_answered_caller_hangs_up(attached_line: Line, peers: Peers) -> None:
    line = attached_line
    assert line.baresip is not None
    caller = peers.sipp("uac_cid", line.baresip.contact, cid_from=HANS, pause_ms=100)

    ringing = await line.context.call(CallState.RINGING, direction=Direction.INCOMING)
    assert ringing.remote_number == "sip:+41441234567@127.0.0.1"
    assert ringing.remote_name == "Hans Muster"

    await line.driver.answer(line.driver.line_id, ringing.call_ref)
    await line.context.call(CallState.CONNECTED, number="+41441234567")
    ended = await line.context.call(CallState.ENDED, number="+41441234567")

    assert ended.call_ref == ringing.call_ref
    assert ended.last.end_reason is EndReason.ANSWERED
    assert ended.last.hangup_by is HangupSide.REMOTE
    assert await caller.result() == 0, caller.errors()


async def test_incoming_answered_we_hang_up(attached_line: Line, peers: Peers) -> None:
    line = attached_line
    assert line.baresip is not None
    caller = peers.sipp("uac_wait_bye", line.baresip.contact, cid_from=HANS)

    ringing = await line.context.call(CallState.RINGING)
    await line.driver.answer(line.driver.line_id, ringing.call_ref)
    await line.context.call(CallState.CONNECTED)
    await line.driver.hangup(line.driver.line_id, ringing.call_ref)
    ended = await line.context.call(CallState.ENDED)

    assert ended.last.end_reason is EndReason.ANSWERED
    assert ended.last.hangup_by is HangupSide.LOCAL
    assert await caller.result() == 0, caller.errors()


async def test_incoming_missed_caller_cancels(attached_line: Line, peers: Peers) -> None:
    line = attached_line
    assert line.baresip is not None
    caller = peers.sipp("uac_cancel", line.baresip.contact, cid_from=HANS, pause_ms=50)

    ringing = await line.context.call(CallState.RINGING)
    ended = await line.context.call(CallState.ENDED)

    assert ended.call_ref == ringing.call_ref
    assert ended.last.end_reason is EndReason.MISSED
    assert ended.last.hangup_by is HangupSide.REMOTE
    assert await caller.result() == 0, caller.errors()


async def test_incoming_rejected_by_us(attached_line: Line, peers: Peers) -> None:
    line = attached_line
    assert line.baresip is not None
    caller = peers.sipp("uac_reject", line.baresip.contact, cid_from=HANS)

    ringing = await line.context.call(CallState.RINGING)
    await line.driver.hangup(line.driver.line_id, ringing.call_ref)
    ended = await line.context.call(CallState.ENDED)

    assert ended.last.end_reason is EndReason.REJECTED
    assert ended.last.hangup_by is HangupSide.LOCAL
    assert await caller.result() == 0, caller.errors()  # it got 486 Busy Here


async def test_outgoing_answered(attached_line: Line, peers: Peers) -> None:
    line = attached_line
    callee = peers.sipp("uas_answer")
    target = f"sip:+41441234567@{LOOPBACK}:{callee.port}"

    await line.driver.dial(line.driver.line_id, DialRequest("dial-1", "+41441234567", target))
    # Known as dialling, with offhook's dial_ref, by the time dial() returns.
    placed = next(v for v in line.context.calls.values() if v.dial_ref == "dial-1")
    assert placed.direction is Direction.OUTGOING

    connected = await line.context.call(CallState.CONNECTED, dial_ref="dial-1")
    assert connected.call_ref == placed.call_ref
    assert connected.remote_number == target
    await line.driver.hangup(line.driver.line_id, connected.call_ref)
    ended = await line.context.call(CallState.ENDED, dial_ref="dial-1")

    assert ended.last.end_reason is EndReason.ANSWERED
    assert ended.last.hangup_by is HangupSide.LOCAL
    assert await callee.result() == 0, callee.errors()


async def test_dial_uri_template_turns_digits_into_a_sip_address(
    peers: Peers, make_line: Any
) -> None:
    """A line without a registrar reaches its PBX through `dial_uri_template`: the core's
    digits go into the template, the call is matched to its dial_ref all the same."""
    callee = peers.sipp("uas_answer", trace=True)
    baresip = peers.baresip("alice")
    template = f"sip:{{number}}@{LOOPBACK}:{callee.port};user=phone"
    line: Line = await make_line({"ctrl_port": baresip.ctrl_port, "dial_uri_template": template})
    await line.context.connected()

    await line.driver.dial(line.driver.line_id, DialRequest("dial-t", "+41441234567", "0441234567"))
    connected = await line.context.call(CallState.CONNECTED, dial_ref="dial-t")
    assert connected.remote_number.startswith(f"sip:0441234567@{LOOPBACK}:{callee.port}")
    await line.driver.hangup(line.driver.line_id, connected.call_ref)
    await line.context.call(CallState.ENDED, dial_ref="dial-t")
    assert await callee.result() == 0, callee.errors()
    assert f"INVITE sip:0441234567@{LOOPBACK}:{callee.port};user=phone SIP/2.0" in (
        callee.messages()
    )


async def test_outgoing_busy(attached_line: Line, peers: Peers) -> None:
    line = attached_line
    callee = peers.sipp("uas_busy")

    await line.driver.dial(
        line.driver.line_id,
        DialRequest("dial-busy", "+41441234567", f"sip:+41441234567@{LOOPBACK}:{callee.port}"),
    )
    ended = await line.context.call(CallState.ENDED, dial_ref="dial-busy")

    assert ended.direction is Direction.OUTGOING
    assert ended.last.end_reason is EndReason.BUSY
    assert ended.last.hangup_by is HangupSide.REMOTE
    assert await callee.result() == 0, callee.errors()


async def test_outgoing_cancelled_by_us(attached_line: Line, peers: Peers) -> None:
    line = attached_line
    callee = peers.sipp("uas_noanswer")

    await line.driver.dial(
        line.driver.line_id,
        DialRequest("dial-x", "+41441234567", f"sip:+41441234567@{LOOPBACK}:{callee.port}"),
    )
    dialling = await line.context.call(CallState.DIALLING, dial_ref="dial-x")
    await line.driver.hangup(line.driver.line_id, dialling.call_ref)
    ended = await line.context.call(CallState.ENDED, dial_ref="dial-x")

    assert ended.last.end_reason is EndReason.CANCELLED
    assert ended.last.hangup_by is HangupSide.LOCAL
    assert await callee.result() == 0, callee.errors()


async def test_outgoing_fails(attached_line: Line, peers: Peers) -> None:
    """Nobody at the far end: baresip gives up and the call ends as failed, not busy."""
    line = attached_line
    assert line.baresip is not None
    # alice calling a user her own baresip does not have: 404 Not Found.
    await line.driver.dial(
        line.driver.line_id, DialRequest("dial-404", "bob", f"sip:bob@{line.baresip.contact}")
    )
    ended = await line.context.call(CallState.ENDED, dial_ref="dial-404")

    assert ended.last.end_reason is EndReason.FAILED


async def test_unusable_dial_string_is_a_clear_error(attached_line: Line) -> None:
    with pytest.raises(DriverError, match="dial string"):
        await attached_line.driver.dial(
            attached_line.driver.line_id, DialRequest("d", "044 123", "044 123 45 67")
        )
    with pytest.raises(DriverError, match="dial string"):
        await attached_line.driver.dial(
            attached_line.driver.line_id, DialRequest("d", "x", "sip:" + "1" * 300)
        )
    assert not attached_line.context.events


async def test_two_incoming_calls_at_once(attached_line: Line, peers: Peers) -> None:
    """Call waiting: answer a second call while the first is connected, end them one by one.

    baresip 1.0.0 acts on its "current" call only; the driver must still hang up the call it
    was asked to, not the newest.
    """
    line = attached_line
    assert line.baresip is not None
    anna = peers.sipp(
        "uac_wait_bye", line.baresip.contact, cid_from='"Anna" <sip:+41441111111@127.0.0.1>'
    )
    first = await line.context.call(CallState.RINGING, number="+41441111111")
    await line.driver.answer(line.driver.line_id, first.call_ref)
    await line.context.call(CallState.CONNECTED, number="+41441111111")

    bert = peers.sipp(
        "uac_wait_bye", line.baresip.contact, cid_from='"Bert" <sip:+41442222222@127.0.0.1>'
    )
    second = await line.context.call(CallState.RINGING, number="+41442222222")
    await line.driver.answer(line.driver.line_id, second.call_ref)  # puts Anna on hold
    await line.context.call(CallState.CONNECTED, number="+41442222222")

    await line.driver.hangup(line.driver.line_id, first.call_ref)  # not baresip's current call
    anna_ended = await line.context.call(CallState.ENDED, number="+41441111111")
    assert anna_ended.last.end_reason is EndReason.ANSWERED
    assert line.context.calls[second.call_ref].state is CallState.CONNECTED

    await line.driver.hangup(line.driver.line_id, second.call_ref)
    await line.context.call(CallState.ENDED, number="+41442222222")
    assert await anna.result() == 0, anna.errors()
    assert await bert.result() == 0, bert.errors()


async def test_two_ringing_calls_reject_the_older(attached_line: Line, peers: Peers) -> None:
    line = attached_line
    assert line.baresip is not None
    anna = peers.sipp(
        "uac_reject", line.baresip.contact, cid_from='"Anna" <sip:+41441111111@127.0.0.1>'
    )
    first = await line.context.call(CallState.RINGING, number="+41441111111")
    bert = peers.sipp(
        "uac_wait_bye", line.baresip.contact, cid_from='"Bert" <sip:+41442222222@127.0.0.1>'
    )
    second = await line.context.call(CallState.RINGING, number="+41442222222")

    # baresip 1.0.0 would put the other ringing call "on hold" and answer neither.
    with pytest.raises(DriverError, match="another call"):
        await line.driver.answer(line.driver.line_id, second.call_ref)

    await line.driver.hangup(line.driver.line_id, first.call_ref)
    rejected = await line.context.call(CallState.ENDED, number="+41441111111")
    assert rejected.last.end_reason is EndReason.REJECTED
    assert line.context.calls[second.call_ref].state is CallState.RINGING

    await line.driver.answer(line.driver.line_id, second.call_ref)
    await line.context.call(CallState.CONNECTED, number="+41442222222")
    await line.driver.hangup(line.driver.line_id, second.call_ref)
    await line.context.call(CallState.ENDED, number="+41442222222")
    assert await anna.result() == 0, anna.errors()
    assert await bert.result() == 0, bert.errors()


async def test_two_dials_at_once_to_the_same_number(attached_line: Line, peers: Peers) -> None:
    """Each dial_ref is attached to its own call, though both go to the same number."""
    line = attached_line
    first, second = peers.sipp("uas_answer"), peers.sipp("uas_answer")
    requests = [
        DialRequest(ref, "+41441234567", f"sip:+41441234567@{LOOPBACK}:{callee.port}")
        for ref, callee in (("dial-a", first), ("dial-b", second))
    ]
    await asyncio.gather(*(line.driver.dial(line.driver.line_id, request) for request in requests))

    for request in requests:
        connected = await line.context.call(CallState.CONNECTED, dial_ref=request.dial_ref)
        assert connected.remote_number == request.dial_string
    refs = {line.context.calls[c].dial_ref: c for c in line.context.calls}
    assert refs.keys() == {"dial-a", "dial-b"}

    for call_ref in refs.values():
        await line.driver.hangup(line.driver.line_id, call_ref)
    for request in requests:
        await line.context.call(CallState.ENDED, dial_ref=request.dial_ref)
    assert await first.result() == 0, first.errors()
    assert await second.result() == 0, second.errors()


async def test_hangup_of_an_ended_call_is_a_clear_error(attached_line: Line) -> None:
    with pytest.raises(DriverError, match="already ended"):
        await attached_line.driver.hangup(attached_line.driver.line_id, "no-such-call@127.0.0.1")
    with pytest.raises(DriverError, match="no longer ringing"):
        await attached_line.driver.answer(attached_line.driver.line_id, "no-such-call@127.0.0.1")


@pytest.mark.parametrize(
    ("from_header", "number", "name"),
    [
        (HANS, "sip:+41441234567@127.0.0.1", "Hans Muster"),
        (
            '"Müller, Anna" <sip:0441234567@127.0.0.1;user=phone>',
            "sip:0441234567@127.0.0.1;user=phone",
            "Müller, Anna",
        ),
        (
            "Anonymous <sip:anonymous@anonymous.invalid>",
            "sip:anonymous@anonymous.invalid",
            "Anonymous",
        ),
        ("<sip:0041441234567@127.0.0.1>", "sip:0041441234567@127.0.0.1", ""),
        ("sip:+41791234567@127.0.0.1", "sip:+41791234567@127.0.0.1", ""),
        (
            '"Zoë Ødegård 山田" <sip:0791234567@127.0.0.1>',
            "sip:0791234567@127.0.0.1",
            "Zoë Ødegård 山田",
        ),
        ("<tel:+41441234567>", "tel:+41441234567", ""),
    ],
    ids=["display-name", "utf8-national-user-phone", "anonymous", "0041", "plus41", "utf8", "tel"],
)
async def test_caller_id(
    attached_line: Line, peers: Peers, from_header: str, number: str, name: str
) -> None:
    line = attached_line
    assert line.baresip is not None
    caller = peers.sipp("uac_cancel", line.baresip.contact, cid_from=from_header, pause_ms=20)

    ringing = await line.context.call(CallState.RINGING)
    assert (ringing.remote_number, ringing.remote_name) == (number, name)
    ended = await line.context.call(CallState.ENDED)
    assert (ended.last.remote_number, ended.last.remote_name) == (number, name)
    assert await caller.result() == 0, caller.errors()


async def test_baresip_with_several_accounts(peers: Peers, make_line: Any) -> None:
    """Calls to any of baresip's accounts show on the line; offhook dials from `account`,
    though an incoming call made another account baresip's current one."""
    baresip = peers.baresip("alice", extra_users=["0441234567"])
    line: Line = await make_line({"ctrl_port": baresip.ctrl_port, "account": baresip.aor})
    await line.context.connected()

    caller = peers.sipp("uac_reject", baresip.contact, service="0441234567", cid_from=HANS)
    ringing = await line.context.call(CallState.RINGING)
    await line.driver.hangup(line.driver.line_id, ringing.call_ref)
    rejected = await line.context.call(CallState.ENDED)
    assert rejected.last.end_reason is EndReason.REJECTED
    assert await caller.result() == 0, caller.errors()

    callee = peers.sipp("uas_busy", trace=True)
    await line.driver.dial(
        line.driver.line_id,
        DialRequest("d", "+41441234567", f"sip:+41441234567@{LOOPBACK}:{callee.port}"),
    )
    await line.context.call(CallState.ENDED, dial_ref="d")
    assert await callee.result() == 0, callee.errors()
    assert f"From: <{baresip.aor}>" in callee.messages()


async def test_attached_baresip_without_the_account_fails_the_line(
    attached_line: Line, make_line: Any
) -> None:
    assert attached_line.baresip is not None
    await attached_line.driver.stop()  # baresip serves one control client
    line: Line = await make_line(
        {"ctrl_port": attached_line.baresip.ctrl_port, "account": "sip:bob@127.0.0.1"}
    )
    _, reason = await line.context.wait_for(
        lambda: line.context.statuses[-1] if line.context.state is LineState.FAILED else None,
        "the line to fail",
    )
    assert "baresip has no account sip:bob@127.0.0.1" in reason


async def test_a_series_of_calls(attached_line: Line, peers: Peers) -> None:
    """One SIPp run placing several calls, as the latency bench does with hundreds."""
    line = attached_line
    assert line.baresip is not None
    caller = peers.sipp(
        "uac_cancel", line.baresip.contact, cid_from=HANS, pause_ms=5, calls=5, rate=50, at_once=1
    )
    await line.context.wait_for(
        lambda: sum(e.end_reason is EndReason.MISSED for e in line.context.events) == 5,
        "five missed calls",
    )
    assert await caller.result() == 0, caller.errors()
