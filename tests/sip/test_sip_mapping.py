"""baresip events → call events, replayed from recorded real conversations (`recordings/`).

The recordings come from `record.py` (baresip 1.0.0 and SIPp on loopback); replaying them needs
no peers, so these tests pin the mapping to what baresip really says.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide
from offhook.drivers.sip.mapping import (
    LineCalls,
    LiveCall,
    dial_matches,
    ending,
    live_calls,
    parse_callstat,
    parse_listcalls,
    parse_reginfo,
)

RECORDINGS = Path(__file__).parent / "recordings"
AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
IN, OUT = Direction.INCOMING, Direction.OUTGOING


def recording(name: str) -> list[dict[str, Any]]:
    lines = (RECORDINGS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def replay(name: str, *, we_hang_up: bool = False, dial_ref: str = "dial-1") -> list[CallEvent]:
    """Feed a recording to a fresh line, as the driver would (connected and reconciled)."""
    calls = LineCalls(line_id=7)
    calls.reconcile([], since=calls.mark(), at=AT)
    events: list[CallEvent] = []
    messages = recording(name)
    for message in messages:
        if message.get("command") == "dial":
            calls.expect_dial(dial_ref, message["params"])
    dialled = False
    for message in messages:
        if "event" in message:
            events += calls.on_event(message["event"], AT)
            if we_hang_up and (call_ref := message["event"].get("id")):
                calls.hangup_requested(call_ref)
        elif message["command"] == "dial":
            dialled = True
        elif message["command"] == "callstat" and dialled:
            placed = parse_callstat(message["response"]["data"])
            assert placed is not None
            events += calls.dial_placed(dial_ref, placed, AT)
            dialled = False
    return events


def states(events: list[CallEvent]) -> list[CallState]:
    return [event.state for event in events]


def test_incoming_answered_caller_hangs_up() -> None:
    events = replay("incoming_answered_caller_hangs_up")
    assert states(events) == [CallState.RINGING, CallState.CONNECTED, CallState.ENDED]
    assert {e.call_ref for e in events} == {events[0].call_ref}
    assert all(e.line_id == 7 and e.direction is IN for e in events)
    assert (events[0].remote_number, events[0].remote_name) == (
        "sip:+41441234567@127.0.0.1",
        "Hans Muster",
    )
    assert (events[-1].end_reason, events[-1].hangup_by) == (EndReason.ANSWERED, HangupSide.REMOTE)


def test_incoming_missed_caller_cancels() -> None:
    events = replay("incoming_missed")
    assert states(events) == [CallState.RINGING, CallState.ENDED]
    assert events[0].remote_name == "Müller, Anna"
    assert events[0].remote_number == "sip:0441234567@127.0.0.1;user=phone"
    assert (events[-1].end_reason, events[-1].hangup_by) == (EndReason.MISSED, HangupSide.REMOTE)


def test_incoming_rejected_by_us() -> None:
    events = replay("incoming_rejected", we_hang_up=True)
    assert states(events) == [CallState.RINGING, CallState.ENDED]
    assert events[0].remote_number == "sip:anonymous@anonymous.invalid"
    assert (events[-1].end_reason, events[-1].hangup_by) == (EndReason.REJECTED, HangupSide.LOCAL)


def test_incoming_rejected_at_the_phone_itself() -> None:
    """Declined in baresip's own interface (not asked by offhook): still rejected by us."""
    events = replay("incoming_rejected", we_hang_up=False)
    assert (events[-1].end_reason, events[-1].hangup_by) == (EndReason.REJECTED, HangupSide.LOCAL)


def test_outgoing_answered_we_hang_up() -> None:
    events = replay("outgoing_answered_we_hang_up", we_hang_up=True)
    assert states(events) == [CallState.DIALLING, CallState.CONNECTED, CallState.ENDED]
    assert all(e.direction is OUT and e.dial_ref == "dial-1" for e in events)
    assert (events[-1].end_reason, events[-1].hangup_by) == (EndReason.ANSWERED, HangupSide.LOCAL)


def test_outgoing_busy() -> None:
    events = replay("outgoing_busy")
    assert states(events)[-1] is CallState.ENDED
    assert all(e.dial_ref == "dial-1" for e in events)
    assert (events[-1].end_reason, events[-1].hangup_by) == (EndReason.BUSY, HangupSide.REMOTE)


def test_outgoing_cancelled_by_us() -> None:
    events = replay("outgoing_cancelled", we_hang_up=True)
    assert states(events) == [CallState.DIALLING, CallState.ENDED]
    assert (events[-1].end_reason, events[-1].hangup_by) == (
        EndReason.CANCELLED,
        HangupSide.LOCAL,
    )


def test_outgoing_call_placed_outside_offhook_has_no_dial_ref() -> None:
    calls = LineCalls(line_id=1)
    calls.expect_dial("dial-1", "sip:+41999999999@127.0.0.1")
    events = [
        e
        for m in recording("outgoing_busy")
        if "event" in m
        for e in calls.on_event(m["event"], AT)
    ]
    assert events and all(e.dial_ref is None for e in events)


def test_listing_after_a_reconnect() -> None:
    messages = recording("listing_two_calls")
    answer = {m["command"]: m["response"]["data"] for m in messages if "command" in m}
    assert parse_reginfo(answer["reginfo"])[0][0].startswith("sip:alice@127.0.0.1:")
    assert parse_listcalls(answer["listcalls"]) == [1, 2]
    callstats = [m["response"]["data"] for m in messages if m.get("command") == "callstat"]
    connected, ringing = live_calls(callstats)
    assert (connected.state, connected.direction) == (CallState.CONNECTED, IN)
    assert (connected.remote_name, connected.remote_uri) == (
        "Hans Muster",
        "sip:+41441234567@127.0.0.1",
    )
    assert connected.account.startswith("sip:alice@")
    assert (ringing.state, ringing.remote_name) == (CallState.RINGING, "Bert")


def test_callstat_without_a_call() -> None:
    assert parse_callstat("\n(no active calls)\n") is None
    assert parse_listcalls("\n--- Active calls (0) ---\n\n") == []


def test_reginfo_with_colours() -> None:
    data = (
        "\n--- User Agents (2) ---\n"
        "> sip:alice@127.0.0.1:5060      \x1b[32mOK \x1b[;m kamailio Expires 60s\n"
        "  sip:bob@127.0.0.1:5060        \x1b[31mERR\x1b[;m  Expires 0s\n\n"
    )
    assert [(aor, status.split()[0]) for aor, status in parse_reginfo(data)] == [
        ("sip:alice@127.0.0.1:5060", "OK"),
        ("sip:bob@127.0.0.1:5060", "ERR"),
    ]


LIVE_HANS = LiveCall("c1", IN, CallState.CONNECTED, "sip:alice@x", "sip:+41441234567@x", "Hans")


def test_reconcile_reports_what_happened_while_nobody_listened() -> None:
    calls = LineCalls(line_id=1)
    ringing = calls.on_event(
        {"class": "call", "type": "CALL_INCOMING", "id": "c1", "direction": "incoming"}, AT
    )
    calls.on_event(
        {"class": "call", "type": "CALL_INCOMING", "id": "c2", "direction": "incoming"}, AT
    )
    calls.lost_contact()

    # c1 was answered meanwhile; c2 ended unseen; c3 started meanwhile and is connected.
    live_c3 = LiveCall("c3", OUT, CallState.CONNECTED, "sip:alice@x", "sip:bob@x")
    events, live = calls.reconcile([LIVE_HANS, live_c3], since=calls.mark(), at=AT)

    assert states(ringing) == [CallState.RINGING]
    assert [(e.call_ref, e.state) for e in events] == [
        ("c1", CallState.CONNECTED),
        ("c3", CallState.CONNECTED),
    ]
    assert live == {"c1", "c3"}
    assert calls.on_event({"class": "call", "type": "CALL_CLOSED", "id": "c2"}, AT) == []
    ended = calls.on_event(
        {"class": "call", "type": "CALL_CLOSED", "id": "c1", "param": "Connection reset by peer"},
        AT,
    )
    assert ended[0].end_reason is EndReason.ANSWERED


def test_reconcile_keeps_calls_newer_than_the_listing() -> None:
    calls = LineCalls(line_id=1)
    since = calls.mark()
    # While baresip was being asked, a call started and another (listed) one ended.
    calls.on_event({"class": "call", "type": "CALL_INCOMING", "id": "new", "direction": "x"}, AT)
    calls.on_event({"class": "call", "type": "CALL_INCOMING", "id": "c1"}, AT)
    calls.on_event({"class": "call", "type": "CALL_CLOSED", "id": "c1"}, AT)
    events, live = calls.reconcile([LIVE_HANS], since=since, at=AT)
    assert events == []
    assert live == {"new"}


def test_duplicate_and_stray_events_do_nothing() -> None:
    calls = LineCalls(line_id=1)
    calls.reconcile([], since=0, at=AT)
    incoming = {"class": "call", "type": "CALL_INCOMING", "id": "c1", "direction": "incoming"}
    assert len(calls.on_event(incoming, AT)) == 1
    assert calls.on_event(incoming, AT) == []
    assert calls.on_event({"class": "other", "type": "CALL_RTCP", "id": "c1"}, AT) == []
    assert calls.on_event({"class": "call", "type": "CALL_DTMF_START", "id": "c1"}, AT) == []
    assert calls.on_event({"class": "call", "type": "CALL_INCOMING"}, AT) == []  # no id


def test_auto_answered_call_is_known_connected() -> None:
    calls = LineCalls(line_id=1)
    calls.reconcile([], since=0, at=AT)
    established = {"class": "call", "type": "CALL_ESTABLISHED", "id": "c1", "direction": "incoming"}
    closed = {**established, "type": "CALL_CLOSED", "param": "Connection reset by peer"}
    assert states(calls.on_event(established, AT)) == [CallState.CONNECTED]
    assert calls.on_event(closed, AT)[0].end_reason is EndReason.ANSWERED


def test_call_first_seen_ending_right_after_connecting_has_an_unknown_outcome() -> None:
    calls = LineCalls(line_id=1)  # connected, not yet reconciled
    closed = {
        "class": "call",
        "type": "CALL_CLOSED",
        "id": "c1",
        "direction": "incoming",
        "param": "Connection reset by peer",
    }
    (event,) = calls.on_event(closed, AT)
    assert (event.state, event.end_reason, event.hangup_by) == (
        CallState.ENDED,
        None,
        HangupSide.REMOTE,
    )


@pytest.mark.parametrize(
    ("direction", "established", "param", "asked", "expected"),
    [
        (IN, True, "Connection reset by peer", False, (EndReason.ANSWERED, HangupSide.REMOTE)),
        (IN, True, "Connection reset by user", False, (EndReason.ANSWERED, HangupSide.LOCAL)),
        (OUT, True, "Connection reset by user", True, (EndReason.ANSWERED, HangupSide.LOCAL)),
        (OUT, True, "408 Request Timeout", False, (EndReason.ANSWERED, HangupSide.REMOTE)),
        (IN, False, "Connection reset by peer", False, (EndReason.MISSED, HangupSide.REMOTE)),
        (IN, False, "Connection reset by peer", True, (EndReason.MISSED, HangupSide.REMOTE)),
        (IN, False, "Connection reset by user", True, (EndReason.REJECTED, HangupSide.LOCAL)),
        (IN, False, "Rejected by user", False, (EndReason.REJECTED, HangupSide.LOCAL)),
        (OUT, False, "Connection reset by user", True, (EndReason.CANCELLED, HangupSide.LOCAL)),
        (OUT, False, "486 Busy Here", False, (EndReason.BUSY, HangupSide.REMOTE)),
        (OUT, False, "600 Busy Everywhere", False, (EndReason.BUSY, HangupSide.REMOTE)),
        (OUT, False, "603 Decline", False, (EndReason.REJECTED, HangupSide.REMOTE)),
        (OUT, False, "404 Not Found", False, (EndReason.FAILED, HangupSide.REMOTE)),
        (OUT, False, "480 Temporarily Unavailable", False, (EndReason.FAILED, HangupSide.REMOTE)),
        (OUT, False, "Connection refused", False, (EndReason.FAILED, None)),
        (OUT, None, "486 Busy Here", False, (EndReason.BUSY, HangupSide.REMOTE)),
        (OUT, None, "Connection reset by peer", False, (None, HangupSide.REMOTE)),
        (IN, None, "Connection reset by user", False, (None, HangupSide.LOCAL)),
    ],
)
def test_end_reason_table(
    direction: Direction,
    established: bool | None,
    param: str,
    asked: bool,
    expected: tuple[EndReason | None, HangupSide | None],
) -> None:
    assert ending(direction, established, param, asked) == expected


@pytest.mark.parametrize(
    ("dial_string", "peer_uri", "same"),
    [
        ("sip:+41441234567@127.0.0.1:5090", "sip:+41441234567@127.0.0.1:5090", True),
        ("0441234567", "sip:0441234567@pbx.example.com", True),
        ("0441234567", "sip:0441234567@pbx.example.com;user=phone", True),
        ("sip:201@PBX.example.com", "sip:201@pbx.example.com", True),
        ("sip:201@pbx.example.com", "sip:202@pbx.example.com", False),
        ("sip:201@pbx.example.com", "sip:201@other.example.com", False),
        ("tel:+41441234567", "sip:+41441234567@pbx.example.com", True),
    ],
)
def test_dial_matches(dial_string: str, peer_uri: str, same: bool) -> None:
    assert dial_matches(dial_string, peer_uri) is same
