"""Faults against the fake manager port: refused login, a dropped connection, event storms."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from offhook.calls.events import CallState, Direction, EndReason
from offhook.drivers.asterisk import AsteriskDriver
from offhook.drivers.contract import DialRequest, LineState
from offhook.drivers.testing import RecordingContext
from tests.asterisk.fakeami import FakeAmi, random_chunks


def _frame(**headers: str) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n"


TRUNK = {"Channel": "PJSIP/trunk-00000001", "Uniqueid": "100.1", "Linkedid": "100.1"}
PHONE = {"Channel": "PJSIP/201-00000002", "Uniqueid": "100.2", "Linkedid": "100.1"}
RINGING_CALL = _frame(
    Event="Newchannel", ChannelState="4", CallerIDNum="+41446681812", CallerIDName="Anna", **TRUNK
) + _frame(
    Event="DialBegin",
    **TRUNK,
    DestChannel=PHONE["Channel"],
    DestUniqueid=PHONE["Uniqueid"],
    DestLinkedid="100.1",
    DestChannelState="5",
    DestConnectedLineNum="+41446681812",
    DestConnectedLineName="Anna",
)
ANSWERED = _frame(Event="Newstate", ChannelState="6", ConnectedLineNum="+41446681812", **PHONE)
HANGUP = _frame(Event="Hangup", ChannelState="6", Cause="16", **PHONE)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def _context(fake: FakeAmi, secret: str | None = None) -> RecordingContext:
    return RecordingContext(
        options={"port": fake.port, "username": fake.username, "secret": secret or fake.secret},
        lines={1: "PJSIP/201"},
    )


async def test_refused_login_is_shown_without_the_secret(fake: FakeAmi) -> None:
    context = _context(fake, secret="not-the-secret")
    driver = AsteriskDriver(context)
    await driver.start()
    try:
        await context.wait_for(lambda: context.state is LineState.FAILED, "the login refused")
    finally:
        await driver.stop()
    reason = context.statuses[-1][1]
    assert "refused the AMI login" in reason and "Authentication failed" in reason
    assert "not-the-secret" not in reason
    assert fake.plain_secrets == 0  # the MD5 challenge: the secret never crossed the wire


async def test_a_dropped_connection_reconnects_and_ends_what_ended_meanwhile(
    fake: FakeAmi,
) -> None:
    fake.stream = RINGING_CALL
    context = _context(fake)
    driver = AsteriskDriver(context)
    await driver.start()
    try:
        call = await context.call(CallState.RINGING, line_id=1)
        assert call.direction is Direction.INCOMING and call.remote_name == "Anna"
        fake.stream = b""
        fake.drop()
        await context.wait_for(lambda: context.state is LineState.RECONNECTING, "the drop noticed")
        await context.wait_for(lambda: fake.logins == 2, "logged in again")
        await context.wait_for(lambda: len(context.reconciliations) == 2, "reconciled")
    finally:
        await driver.stop()
    assert context.reconciliations[-1] == set()
    assert context.calls[call.call_ref].legs == {1: CallState.ENDED}
    assert context.calls[call.call_ref].ended_by_reconcile


async def test_a_call_still_up_after_the_drop_goes_on_and_ends_answered(fake: FakeAmi) -> None:
    fake.stream = RINGING_CALL + ANSWERED
    context = _context(fake)
    driver = AsteriskDriver(context)
    await driver.start()
    try:
        call = await context.call(CallState.CONNECTED, line_id=1)
        fake.stream = b""
        fake.channels = [
            {**PHONE, "ChannelState": "6", "Application": "AppDial", "ConnectedLineNum": "x"}
        ]
        fake.drop()
        await context.wait_for(lambda: len(context.reconciliations) == 2, "reconciled")
        assert context.reconciliations[-1] == {call.call_ref}
        assert context.calls[call.call_ref].legs == {1: CallState.CONNECTED}
        await fake.send(HANGUP)
        await context.call(CallState.ENDED, line_id=1)
    finally:
        await driver.stop()
    assert not context.calls[call.call_ref].ended_by_reconcile


async def test_an_event_storm_of_a_busy_pbx_does_not_hide_the_call(fake: FakeAmi) -> None:
    """200 extensions' chatter (VarSet, Newexten, RTCP, other calls' channels) around one call."""
    noise = b"".join(
        _frame(Event=kind, Channel=f"PJSIP/{300 + i % 200}-{i:08x}", Uniqueid=f"9.{i}")
        for i in range(20_000)
        for kind in ("VarSet", "Newexten", "RTCPSent")[i % 3 : i % 3 + 1]
    )
    fake.stream = noise + RINGING_CALL + noise + ANSWERED + noise + HANGUP
    fake.chunker = random_chunks(3)
    context = _context(fake)
    driver = AsteriskDriver(context)
    await driver.start()
    try:
        call = await context.call(CallState.ENDED, line_id=1, timeout=60)
    finally:
        await driver.stop()
    assert call.remote_number == "+41446681812"
    assert [e.state for e in context.events] == [
        CallState.RINGING,
        CallState.CONNECTED,
        CallState.ENDED,
    ]
    assert set(driver.mapper.channels) == {"100.1"}  # the trunk, not hung up here; no noise


async def test_click_to_dial_to_a_phone_that_cannot_ring_ends_failed(fake: FakeAmi) -> None:
    context = _context(fake)
    driver = AsteriskDriver(context)
    await driver.start()
    try:
        await context.connected()
        await driver.dial(
            1, DialRequest(dial_ref="d-9", number="0446681812", dial_string="0446681812")
        )
        call = await context.call(CallState.ENDED, line_id=1, dial_ref="d-9")
    finally:
        await driver.stop()
    assert call.last.end_reason is EndReason.FAILED and call.direction is Direction.OUTGOING
    originate = next(a for a in fake.actions if a["Action"] == "Originate")
    assert originate["Channel"] == "PJSIP/201" and originate["Exten"] == "0446681812"
    assert originate["Context"] == "from-internal"
