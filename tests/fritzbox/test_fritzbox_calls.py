"""The fritzbox driver against a local call monitor that replays the published call-monitor lines
(../shared/conformance/fritzbox, read in place) in one piece, one byte at a time and in random
chunks, with LF and CRLF: each user's line gets its calls, with the outcome and the duration the
box reported; the connection comes back after a drop, and calls lost meanwhile are ended."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

import pytest

from offhook.calls.events import CallState, Direction
from offhook.drivers import LineState
from offhook.drivers.fritzbox import FritzboxDriver
from offhook.drivers.fritzbox import driver as fritz_driver
from tests.fritzbox.kit import FritzContext, duration, reason
from tests.fritzbox.peers import CallMonitorServer, conformance_blocks

CHUNKINGS = ["whole", "bytes", "random"]

#: The call-monitor lines of the worked example in the driver's README.
WORKED_EXAMPLE = [
    "28.11.26 09:00:00;RING;0;0446681812;0301234567;SIP0;",
    "28.11.26 09:00:04;CONNECT;0;10;0446681812;",
    "28.11.26 09:01:04;DISCONNECT;0;60;",
    "28.11.26 09:02:00;RING;1;0315556677;0301234568;SIP1;",
    "28.11.26 09:02:05;CONNECT;1;11;0315556677;",
    "28.11.26 09:02:35;DISCONNECT;1;30;",
    "28.11.26 09:05:00;RING;1;0791234567;0301234568;SIP1;",
    "28.11.26 09:05:20;DISCONNECT;1;0;",
    "28.11.26 09:06:00;CALL;2;11;0301234568;0449998877;SIP0;",
    "28.11.26 09:06:09;CONNECT;2;11;0449998877;",
    "28.11.26 09:07:00;DISCONNECT;2;51;",
]


@pytest.fixture
async def monitor() -> AsyncIterator[CallMonitorServer]:
    server = CallMonitorServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fritz_driver, "RETRY_FIRST", 0.05)
    monkeypatch.setattr(fritz_driver, "RETRY_MAX", 0.2)


async def _run(
    monitor: CallMonitorServer,
    lines: Mapping[int, str],
    send: list[str],
    how: str,
    line_options: Mapping[int, Mapping[str, Any]] | None = None,
    end: bytes = b"\n",
) -> tuple[FritzboxDriver, FritzContext]:
    context = FritzContext({"host": "127.0.0.1", "monitor_port": monitor.port}, lines, line_options)
    driver = FritzboxDriver(context)
    await driver.start()
    await context.connected()
    await monitor.send(send, how, end)
    return driver, context


def _block(start: str) -> list[str]:
    blocks = conformance_blocks()
    name = next(n for n in blocks if n.startswith(start))
    return blocks[name]


async def _settle(context: FritzContext, count: int) -> None:
    await context.wait_for(lambda: len(context.events) >= count, f"{count} call events")


@pytest.mark.parametrize("how", CHUNKINGS)
async def test_fritzconnection_docs_answered_on_the_isdn_phone(
    monitor: CallMonitorServer, how: str
) -> None:
    # RING on 2, CONNECT on phone 4 (ISDN), DISCONNECT after 4 s.
    driver, context = await _run(monitor, {1: "**51", 2: "**610"}, _block("kbr/"), how)
    call = await context.call(CallState.ENDED, line_id=1)
    assert call.direction is Direction.INCOMING
    assert call.remote_number == "<calling number>"
    assert context.calls[call.call_ref].legs == {1: CallState.ENDED, 2: CallState.ENDED}
    assert reason(context, call.call_ref, 1) == "answered"
    # The DECT phone rang too; the core ends its leg as answered elsewhere.
    assert reason(context, call.call_ref, 2) is None
    assert duration(context, call.call_ref, 1) == timedelta(seconds=4)
    assert not context.crashes
    await driver.stop()


@pytest.mark.parametrize("how", CHUNKINGS)
async def test_kruemelino_a_call_taken_by_the_answering_machine_is_missed(
    monitor: CallMonitorServer, how: str
) -> None:
    # RING 1 to 987654; CALL 3 from phone 4 with 987654; CONNECT 1 on 40 (answering machine).
    lines = {1: "987654", 2: "**51", 3: "**610"}
    options = {3: {"numbers": ["111111"]}}  # the DECT phone rings for another number only
    driver, context = await _run(monitor, lines, _block("Kruemelino"), how, options)
    missed = await context.call(CallState.ENDED, direction=Direction.INCOMING)
    assert set(context.calls[missed.call_ref].legs) == {1, 2}
    assert reason(context, missed.call_ref, 1) == "missed"
    assert reason(context, missed.call_ref, 2) == "missed"
    outgoing = await context.call(CallState.DIALLING, direction=Direction.OUTGOING)
    assert outgoing.remote_number == "0123456789"
    # Dialled on phone 4 (another user's than the number line's): on the phone's line only.
    assert context.calls[outgoing.call_ref].legs == {2: CallState.DIALLING}
    assert not context.crashes
    await driver.stop()


@pytest.mark.parametrize("how", CHUNKINGS)
async def test_c_client_comment_unknown_connections_and_a_cancelled_dial(
    monitor: CallMonitorServer, how: str
) -> None:
    driver, context = await _run(monitor, {1: "**51"}, _block("C call-monitor"), how)
    cancelled = await context.call(CallState.ENDED, direction=Direction.OUTGOING)
    assert cancelled.remote_number == "040xxx"
    assert reason(context, cancelled.call_ref, 1) == "cancelled"
    # The withheld call was answered on the ISDN phone and is still on.
    connected = [v for v in context.open_calls() if v.legs.get(1) is CallState.CONNECTED]
    assert [v.remote_number for v in connected] == [""]
    assert not context.crashes
    await driver.stop()


@pytest.mark.parametrize("how", CHUNKINGS)
async def test_qt_data_answered_on_fon2_with_the_boxes_duration(
    monitor: CallMonitorServer, how: str
) -> None:
    driver, context = await _run(monitor, {1: "**2", 2: "90969248"}, _block("Qt test"), how)
    call = await context.call(CallState.ENDED, line_id=1)
    assert call.remote_number == "017624025482"
    assert context.calls[call.call_ref].legs == {1: CallState.ENDED, 2: CallState.ENDED}
    assert duration(context, call.call_ref, 1) == timedelta(seconds=201)
    # The number's line belongs to another user: the core shows it answered elsewhere.
    assert reason(context, call.call_ref, 2) is None
    await driver.stop()


@pytest.mark.parametrize("how", CHUNKINGS)
async def test_cpp_mock_with_crlf_an_answered_outgoing_call(
    monitor: CallMonitorServer, how: str
) -> None:
    driver, context = await _run(monitor, {1: "**1"}, _block("C++ test mock"), how, end=b"\r\n")
    call = await context.call(CallState.ENDED, direction=Direction.OUTGOING)
    assert call.remote_number == "05678"
    assert reason(context, call.call_ref, 1) == "answered"
    assert duration(context, call.call_ref, 1) == timedelta(seconds=6)
    ringing = await context.call(CallState.RINGING, number="12345")
    assert ringing.legs == {1: CallState.RINGING}
    await driver.stop()


@pytest.mark.parametrize("how", CHUNKINGS)
async def test_simulated_py_fritz_monitor_reused_connection_id(
    monitor: CallMonitorServer, how: str
) -> None:
    # CALL 0 from DECT 3 (**612), then RING 0 before any DISCONNECT, CONNECT 0 on 12,
    # DISCONNECT with an extra field.
    driver, context = await _run(monitor, {1: "**612"}, _block("py-fritz-monitor"), how)
    await _settle(context, 5)
    incoming = await context.call(CallState.ENDED, direction=Direction.INCOMING, line_id=1)
    assert reason(context, incoming.call_ref, 1) == "answered"
    assert duration(context, incoming.call_ref, 1) == timedelta(seconds=12)
    outgoing = await context.call(CallState.ENDED, direction=Direction.OUTGOING, line_id=1)
    assert outgoing.call_ref != incoming.call_ref
    await driver.stop()


@pytest.mark.parametrize("how", CHUNKINGS)
async def test_missed_and_blocked_calls(monitor: CallMonitorServer, how: str) -> None:
    lines = {1: "3005988", 2: "<eigene MSN>"}
    send = _block("Python lineReceived") + _block("Blocked-call")
    driver, context = await _run(monitor, lines, send, how)
    missed = await context.call(CallState.ENDED, line_id=1)
    assert missed.remote_number == "01606685404"
    assert reason(context, missed.call_ref, 1) == "missed"
    blocked = await context.call(CallState.ENDED, line_id=2)
    assert reason(context, blocked.call_ref, 2) == "rejected"
    await driver.stop()


async def test_the_readmes_worked_example(monitor: CallMonitorServer) -> None:
    # Anna's handset **610 rings for the practice number; Ben's line is his direct number
    # (his handset, **611, has no line of its own).
    context = FritzContext(
        {"host": "127.0.0.1", "monitor_port": monitor.port},
        {1: "**610", 2: "0301234568"},
        {1: {"numbers": ["0301234567"]}},
    )
    driver = FritzboxDriver(context)
    await driver.start()
    await context.connected()
    await monitor.send(WORKED_EXAMPLE)
    await _settle(context, 12)
    answered = await context.call(CallState.ENDED, number="0446681812")
    assert set(answered.legs) == {1}
    assert reason(context, answered.call_ref, 1) == "answered"
    assert duration(context, answered.call_ref, 1) == timedelta(seconds=60)
    bens = await context.call(CallState.ENDED, number="0315556677")
    assert set(bens.legs) == {2}
    assert duration(context, bens.call_ref, 2) == timedelta(seconds=30)
    missed = await context.call(CallState.ENDED, number="0791234567")
    assert reason(context, missed.call_ref, 2) == "missed"
    outgoing = await context.call(CallState.ENDED, number="0449998877")
    assert set(outgoing.legs) == {2}  # dialled on his handset with his number
    assert reason(context, outgoing.call_ref, 2) == "answered"
    assert duration(context, outgoing.call_ref, 2) == timedelta(seconds=51)
    await driver.stop()


@pytest.mark.parametrize("how", CHUNKINGS)
async def test_the_whole_file_at_once_never_breaks_the_driver(
    monitor: CallMonitorServer, how: str
) -> None:
    every = [line for block in conformance_blocks().values() for line in block]
    lines = {1: "**1", 2: "**2", 3: "**51", 4: "**610", 5: "**612", 6: "987654"}
    driver, context = await _run(monitor, lines, every, how)
    await _settle(context, 30)
    assert not context.crashes
    assert context.state is LineState.CONNECTED
    await driver.stop()


async def test_a_dropped_monitor_is_reconnected_and_lost_calls_are_ended(
    monitor: CallMonitorServer,
) -> None:
    driver, context = await _run(
        monitor, {1: "**610"}, ["01.01.25 10:00:00;RING;0;0301234567;987654;SIP0;"], "whole"
    )
    ringing = await context.call(CallState.RINGING, line_id=1)
    first = monitor.connections
    await monitor.drop()
    await context.wait_for(lambda: monitor.connections > first, "a new connection")
    await context.connected()
    assert any(state is LineState.RECONNECTING for state, _ in context.statuses)
    # The ringing call is not known to exist any more: reconciled away, not left ringing.
    assert context.calls[ringing.call_ref].state is CallState.ENDED
    assert context.calls[ringing.call_ref].ended_by_reconcile
    # Calls after the reconnect come through as before.
    await monitor.send(["01.01.25 10:01:00;RING;1;0449998877;987654;SIP0;"])
    await context.call(CallState.RINGING, line_id=1, number="0449998877")
    await driver.stop()


async def test_a_box_without_the_call_monitor_says_how_to_turn_it_on(
    monitor: CallMonitorServer,
) -> None:
    port = monitor.port
    await monitor.stop()  # nothing listens: the box refuses, as one with the monitor off does
    context = FritzContext({"host": "127.0.0.1", "monitor_port": port}, {1: "**610"})
    driver = FritzboxDriver(context)
    await driver.start()
    await context.wait_for(
        lambda: context.state is LineState.RECONNECTING and "#96*5*" in context.statuses[-1][1],
        "the advice to dial #96*5*",
    )
    # It keeps trying: once the monitor is on, the line is connected.
    await monitor.start(port)
    await context.connected()
    await driver.stop()
    assert context.state is LineState.STOPPED
