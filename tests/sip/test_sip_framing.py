"""Framing robustness: damaged bytes on the control connection never crash the line.

The only place with a fake peer: a local TCP server writes exactly the damaged bytes a test
needs (garbage, a frame cut off, a length that cannot be right), which a real baresip will not
produce on demand. Everything else in this suite runs against real baresip.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offhook.calls.events import CallState
from offhook.drivers.contract import LineState
from offhook.drivers.sip import SipDriver
from offhook.drivers.sip.ctrl import BaresipControl, ConnectionLost, ControlError
from offhook.drivers.sip.netstring import NetstringDecoder, encode
from offhook.drivers.testing import RecordingContext


def frame(message: dict[str, Any]) -> bytes:
    return encode(json.dumps(message).encode())


def json_object(payload: bytes) -> bool:
    try:
        return isinstance(json.loads(payload), dict)
    except ValueError:
        return False


def decoder() -> NetstringDecoder:
    return NetstringDecoder(plausible=json_object)


EVENT = {"event": True, "class": "call", "type": "CALL_INCOMING", "id": "1-1@127.0.0.1"}
OTHER = {"event": True, "class": "call", "type": "CALL_CLOSED", "id": "1-1@127.0.0.1"}


# -- the decoder ----------------------------------------------------------------------------


def test_frames_split_anywhere_come_out_whole() -> None:
    stream = frame(EVENT) + frame(OTHER) + frame({"response": True, "token": "t"})
    at_once = decoder().feed(stream)
    byte_by_byte: list[bytes] = []
    split = decoder()
    for i in range(len(stream)):
        byte_by_byte += split.feed(stream[i : i + 1])
    assert at_once == byte_by_byte
    assert [json.loads(f) for f in at_once] == [EVENT, OTHER, {"response": True, "token": "t"}]


@pytest.mark.parametrize(
    "damage",
    [
        b"garbage",
        b"\x00\xff\x1b[31m",
        b"12:{not json},",  # framed, but no control message
        b"05:{},",  # leading zero
        b'99:{"event":true',  # a frame cut off: its length runs into the next frame
        b'20:{"a":1',  # cut off so that "1" and the next length read as "17"
        b":::,,,{}",
    ],
)
def test_damage_between_frames_costs_only_the_damage(damage: bytes) -> None:
    stream_decoder = decoder()
    frames = stream_decoder.feed(frame(EVENT) + damage + frame(OTHER) + frame(EVENT))
    assert [json.loads(f) for f in frames] == [EVENT, OTHER, EVENT]
    assert stream_decoder.problems, "the skipped bytes must be reported"
    assert stream_decoder.skipped_bytes >= 1


@pytest.mark.parametrize("header", [b"5000:{", b"99999999999999999:{"])
def test_a_length_beyond_the_limit_is_fatal(header: bytes) -> None:
    stream_decoder = NetstringDecoder(max_size=1000, plausible=json_object)
    assert stream_decoder.feed(frame(EVENT) + header) == [frame(EVENT)[3:-1]]
    assert stream_decoder.broken is not None
    assert "more than" in stream_decoder.broken
    assert stream_decoder.feed(frame(EVENT)) == []


def test_an_incomplete_frame_waits_for_the_rest() -> None:
    stream_decoder = decoder()
    data = frame(EVENT)
    assert stream_decoder.feed(data[:-1]) == []
    assert stream_decoder.pending == len(data) - 1
    assert stream_decoder.feed(data[-1:]) == [data[data.index(b":") + 1 : -1]]


@given(st.binary(max_size=300))
def test_no_input_crashes_the_decoder(data: bytes) -> None:
    frames = decoder().feed(data)
    assert all(json_object(f) for f in frames)


@given(
    garbage=st.binary(max_size=60).filter(lambda b: not any(48 <= c <= 57 for c in b)),
    cut=st.integers(min_value=0, max_value=200),
)
def test_frames_after_garbage_are_recovered(garbage: bytes, cut: int) -> None:
    stream = garbage + frame(EVENT) + frame(OTHER)
    stream_decoder = decoder()
    cut = min(cut, len(stream))
    frames = stream_decoder.feed(stream[:cut]) + stream_decoder.feed(stream[cut:])
    assert [json.loads(f) for f in frames] == [EVENT, OTHER]


# -- the control client against a fake server ---------------------------------------------

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def fake_baresip(script: Script) -> AsyncIterator[int]:
    """A local TCP server running `script` for every connection; yields its port."""
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the server is shutting down
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def commands(reader: asyncio.StreamReader) -> AsyncIterator[dict[str, Any]]:
    """The commands a client sends, as they arrive."""
    incoming = NetstringDecoder(plausible=json_object)
    while data := await reader.read(4096):
        for payload in incoming.feed(data):
            yield json.loads(payload)


def reply(command: dict[str, Any], data: str = "", ok: bool = True) -> bytes:
    return frame({"response": True, "ok": ok, "data": data, "token": command["token"]})


async def test_events_and_responses_survive_garbage(caplog: pytest.LogCaptureFixture) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for command in commands(reader):
            writer.write(b"\x00garbage" + frame(EVENT) + b'42:{"cut' + reply(command, "pong"))
            writer.write(frame(OTHER))
            await writer.drain()

    events: list[Any] = []
    async with fake_baresip(script) as port:
        control = await BaresipControl.connect("127.0.0.1", port, events.append)
        response = await control.command("help")
        await asyncio.wait_for(_until(lambda: len(events) == 2), 5)
        await control.close()
    assert response.ok and response.data == "pong"
    assert [e["type"] for e in events] == ["CALL_INCOMING", "CALL_CLOSED"]
    assert "damaged control data" in caplog.text


async def test_oversize_frame_drops_the_connection_with_a_reason() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(frame(EVENT) + b"99999999999:{")
        await writer.drain()
        await reader.read()

    events: list[Any] = []
    async with fake_baresip(script) as port:
        control = await BaresipControl.connect("127.0.0.1", port, events.append)
        reason = await asyncio.wait_for(control.closed(), 5)
        with pytest.raises(ConnectionLost):
            await control.command("help")
        await control.close()
    assert "more than" in reason
    assert len(events) == 1


async def test_connection_closed_mid_frame() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(frame(EVENT)[:-5])
        await writer.drain()

    async with fake_baresip(script) as port:
        control = await BaresipControl.connect("127.0.0.1", port, lambda event: None)
        reason = await asyncio.wait_for(control.closed(), 5)
        await control.close()
    assert "middle of a message" in reason


async def test_waiting_command_fails_when_the_connection_drops() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for _ in commands(reader):
            return  # hang up instead of answering

    async with fake_baresip(script) as port:
        control = await BaresipControl.connect("127.0.0.1", port, lambda event: None)
        with pytest.raises(ConnectionLost):
            await control.command("listcalls")
        await control.close()


async def test_unanswered_command_times_out() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with fake_baresip(script) as port:
        control = await BaresipControl.connect("127.0.0.1", port, lambda event: None)
        with pytest.raises(ControlError, match="did not answer 'listcalls'"):
            await control.command("listcalls", timeout=0.2)
        await control.close()


async def test_caller_text_that_is_not_utf8_costs_a_character_not_the_event() -> None:
    raw = b'{"event":true,"class":"call","type":"CALL_INCOMING","peerdisplayname":"M\xfcller"}'

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode(raw))
        await writer.drain()
        await reader.read()

    events: list[Any] = []
    async with fake_baresip(script) as port:
        control = await BaresipControl.connect("127.0.0.1", port, events.append)
        await asyncio.wait_for(_until(lambda: bool(events)), 5)
        await control.close()
    assert events[0]["peerdisplayname"] == "M\ufffdller"


async def test_a_failing_event_handler_does_not_stop_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(frame(EVENT) + frame(OTHER))
        await writer.drain()
        await reader.read()

    seen: list[Any] = []

    def handler(event: Any) -> None:
        seen.append(event)
        if len(seen) == 1:
            raise RuntimeError("bug")

    async with fake_baresip(script) as port:
        control = await BaresipControl.connect("127.0.0.1", port, handler)
        await asyncio.wait_for(_until(lambda: len(seen) == 2), 5)
        assert not control.is_closed
        await control.close()
    assert "handling a baresip event failed" in caplog.text


async def test_command_too_long_for_baresip_is_refused_here() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with fake_baresip(script) as port:
        control = await BaresipControl.connect("127.0.0.1", port, lambda event: None)
        with pytest.raises(ControlError, match="too long"):
            await control.command("dial", "sip:" + "9" * 300 + "@example.com")
        await control.close()


async def test_connection_refused_names_the_address() -> None:
    async with fake_baresip(lambda reader, writer: asyncio.sleep(0)) as port:
        pass  # closed again: nothing listens on this port now
    with pytest.raises(ControlError, match=f"127.0.0.1:{port}"):
        await BaresipControl.connect("127.0.0.1", port, lambda event: None)


# -- the driver on a damaged connection -----------------------------------------------------

RINGING = {
    "event": True,
    "class": "call",
    "type": "CALL_INCOMING",
    "accountaor": "sip:alice@127.0.0.1:5070",
    "direction": "incoming",
    "peeruri": "sip:+41441234567@127.0.0.1",
    "peerdisplayname": "Hans Muster",
    "id": "1-77@127.0.0.1",
    "param": "sip:+41441234567@127.0.0.1",
}


async def test_driver_survives_garbage_and_reconnects_after_a_broken_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Garbage is skipped; an impossible length drops the connection; after reconnecting the
    driver reconciles, so the call that rang before does not ring forever."""
    caplog.set_level(logging.WARNING)
    connections = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        first = connections == 1
        async for command in commands(reader):
            data = ""
            if command["command"] == "reginfo":
                data = "\n--- User Agents (1) ---\n> sip:alice@127.0.0.1:5070  \x1b[33mzzz\x1b[;m\n"
            writer.write(reply(command, data))
            if first and command["command"] == "listcalls":
                writer.write(b"\x00\x01junk" + frame(RINGING) + b'3:{"x,')
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(b"123456789012:{")
            await writer.drain()

    async with fake_baresip(script) as port:
        context = RecordingContext(options={"ctrl_port": port})
        driver = SipDriver(context)
        await driver.start()
        try:
            ringing = await context.call(CallState.RINGING)
            assert ringing.remote_name == "Hans Muster"
            await context.wait_for(
                lambda: len(context.reconciliations) == 2, "a reconnect and reconciliation"
            )
            await context.connected()
        finally:
            await driver.stop()
    assert context.calls[ringing.call_ref].ended_by_reconcile
    assert any(
        state is LineState.RECONNECTING and "more than" in reason
        for state, reason in context.statuses
    )
    assert "damaged control data" in caplog.text


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.005)
