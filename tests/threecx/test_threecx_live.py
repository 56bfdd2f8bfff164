"""The `3cx` driver's live journal against a local server that follows 3CX's published Call
Control API description (`fake3cx`; no 3CX is reachable here): OAuth client credentials, the
WebSocket of participant events, make call and drop, reconnecting and reconciliation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from offhook.calls.events import CallState, Direction, EndReason, HangupSide
from offhook.drivers import DialRequest, LineState, NotSupported
from offhook.drivers.testing import RecordingContext
from offhook.drivers.threecx import ThreeCxDriver
from offhook.drivers.threecx import driver as threecx_driver
from offhook.drivers.threecx.report import CallReport
from tests.threecx.fake3cx import Fake3cx


@pytest.fixture
async def pbx() -> AsyncIterator[Fake3cx]:
    fake = Fake3cx()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threecx_driver, "RETRY_FIRST", 0.05)
    monkeypatch.setattr(threecx_driver, "RETRY_MAX", 0.2)


async def _live(pbx: Fake3cx, secret: str | None = None) -> tuple[ThreeCxDriver, RecordingContext]:
    context = RecordingContext(
        options={
            "api_url": pbx.url,
            "client_id": pbx.client_id,
            "client_secret": secret or pbx.client_secret,
        },
        lines={1: "101", 2: "102"},
    )
    driver = ThreeCxDriver(context)
    await driver.start()
    return driver, context


async def _connected(pbx: Fake3cx, context: RecordingContext) -> None:
    await context.connected()
    await context.wait_for(lambda: pbx.sockets, "the event stream")


async def test_a_call_rings_is_answered_and_ends(pbx: Fake3cx) -> None:
    driver, context = await _live(pbx)
    await _connected(pbx, context)
    pid = await pbx.ring("101", "+41446681812", "Anna Müller")
    ringing = await context.call(CallState.RINGING, line_id=1)
    assert (ringing.remote_number, ringing.remote_name) == ("+41446681812", "Anna Müller")
    assert ringing.direction is Direction.INCOMING
    await pbx.answer("101", pid)
    await context.call(CallState.CONNECTED, line_id=1)
    await pbx.hang_up("101", pid)
    ended = await context.call(CallState.ENDED, line_id=1)
    assert ended.last.end_reason is EndReason.ANSWERED
    # A call on an extension that is nobody's line here is not followed.
    await pbx.ring("103", "+41446681812")
    await pbx.ring("102", "0797770000")
    await context.call(CallState.RINGING, line_id=2)
    assert len(context.calls) == 2
    assert not context.crashes
    await driver.stop()


async def test_a_queue_call_is_one_call_on_each_agents_line(pbx: Fake3cx) -> None:
    driver, context = await _live(pbx)
    await _connected(pbx, context)
    first = await pbx.ring("101", "0446681812")
    second = await pbx.ring("102", "0446681812", callid=pbx.callid("101", first))
    await context.wait_for(
        lambda: any(len(v.legs) == 2 for v in context.calls.values()), "both legs"
    )
    (call,) = context.calls.values()
    await pbx.answer("102", second)
    await pbx.hang_up("101", first)
    await context.call(CallState.CONNECTED, line_id=2)
    await context.wait_for(lambda: call.legs.get(1) is CallState.ENDED, "the other leg ended")
    assert call.legs[2] is CallState.CONNECTED
    await driver.stop()


async def test_click_to_dial_and_drop(pbx: Fake3cx) -> None:
    driver, context = await _live(pbx)
    await _connected(pbx, context)
    await driver.dial(1, DialRequest("d-1", "+41446681812", "0446681812"))
    assert pbx.requests[0] == ("makecall", "101", {"destination": "0446681812"})
    dialling = await context.call(CallState.DIALLING, line_id=1, dial_ref="d-1")
    assert dialling.direction is Direction.OUTGOING
    await driver.hangup(1, "dial:d-1")  # before the first event, the core's placeholder
    ended = await context.call(CallState.ENDED, line_id=1)
    assert ended.last.end_reason is EndReason.CANCELLED
    assert ended.last.hangup_by is HangupSide.LOCAL
    assert pbx.requests[-1][0] == "drop"
    await driver.stop()


async def test_a_lost_stream_is_reconnected_and_reconciled(pbx: Fake3cx) -> None:
    driver, context = await _live(pbx)
    await _connected(pbx, context)
    gone = await pbx.ring("101", "0446681812")
    stays = await pbx.ring("102", "0797770000")
    await context.wait_for(lambda: len(context.calls) == 2, "two calls")
    await pbx.drop_streams()
    # While offhook is not listening, one call ends and the other is answered.
    await pbx.hang_up("101", gone, tell=False)
    await pbx.answer("102", stays)
    await context.wait_for(lambda: len(context.reconciliations) >= 2, "a reconciliation")
    await context.wait_for(lambda: pbx.sockets, "the event stream back")
    assert any(state is LineState.RECONNECTING for state, _ in context.statuses)
    ended = await context.call(CallState.ENDED, line_id=1)
    assert ended.ended_by_reconcile
    await context.call(CallState.CONNECTED, line_id=2)
    assert context.reconciliations[-1] == {f"3cx:{pbx.callid('102', stays)}"}
    await driver.stop()


async def test_a_wrong_key_says_so_and_keeps_trying(pbx: Fake3cx) -> None:
    driver, context = await _live(pbx, secret="wrong")
    await context.wait_for(
        lambda: (
            context.state is LineState.RECONNECTING
            and "refused the API client's ID or key" in context.statuses[-1][1]
        ),
        "the refusal",
    )
    assert pbx.tokens == set()
    await driver.stop()


async def test_an_expired_token_is_renewed(pbx: Fake3cx) -> None:
    driver, context = await _live(pbx)
    await _connected(pbx, context)
    pbx.tokens.clear()  # 3CX forgot the token (expired, restarted)
    pid = await pbx.ring("101", "0446681812")
    await context.call(CallState.RINGING, line_id=1)
    assert len(pbx.tokens) == 1
    await pbx.hang_up("101", pid)
    await driver.stop()


async def test_odd_messages_do_no_harm(pbx: Fake3cx) -> None:
    driver, context = await _live(pbx)
    await _connected(pbx, context)
    for message in (
        "not json",
        "[]",
        '{"event": "x"}',
        '{"event": {"event_type": 0, "entity": "/callcontrol/101/devices/9"}}',
        '{"event": {"event_type": 7, "entity": "/callcontrol/101/participants/1"}}',
        '{"event": {"event_type": 0, "entity": "/callcontrol/101/participants/999999"}}',
        '{"event": {"event_type": 1, "entity": "/callcontrol/101/participants/424242"}}',
    ):
        await pbx.send_raw(message)
    await pbx.ring("101", "0446681812")
    await context.call(CallState.RINGING, line_id=1)
    # A message beyond the bound: the stream is dropped and opened again, nothing breaks.
    await pbx.send_raw("x" * 100_000)
    await context.wait_for(
        lambda: any(s is LineState.RECONNECTING for s, _ in context.statuses), "a reconnect"
    )
    await context.connected()
    assert not context.crashes
    await driver.stop()


async def test_reports_are_left_to_the_live_journal_and_crm_only_cannot_dial(
    pbx: Fake3cx,
) -> None:
    driver, context = await _live(pbx)
    await _connected(pbx, context)
    answer = driver.journal(CallReport(call_type="Inbound", number="0446681812", agent="101"))
    assert answer["recorded"] is False
    await driver.stop()
    crm_only = ThreeCxDriver(RecordingContext(options={}, lines={1: "101"}))
    await crm_only.start()
    with pytest.raises(NotSupported, match="Call Control API"):
        await crm_only.dial(1, DialRequest("d-2", "0446681812", "0446681812"))
    await crm_only.stop()
