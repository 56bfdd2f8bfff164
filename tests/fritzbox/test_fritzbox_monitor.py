"""The call monitor's lines (../shared/conformance/fritzbox, read in place): every line is read,
however TCP cuts it, and nothing a peer sends breaks the reader."""

from __future__ import annotations

import random

import pytest

from offhook.drivers.fritzbox.monitor import MAX_LINE, Kind, LineFramer, MonitorEvent, parse
from tests.fritzbox.peers import chunked, conformance_blocks


def _lines() -> list[str]:
    return [line for block in conformance_blocks().values() for line in block]


def test_every_conformance_line_is_an_event() -> None:
    lines = _lines()
    assert len(lines) >= 25
    for line in lines:
        event = parse(line)
        assert event is not None, line
        assert event.kind.value in line


@pytest.mark.parametrize("how", ["whole", "bytes", "random"])
@pytest.mark.parametrize("end", [b"\n", b"\r\n"])
def test_chunking_and_line_ends_do_not_change_what_is_read(how: str, end: bytes) -> None:
    lines = _lines()
    data = b"".join(line.encode() + end for line in lines)
    framer = LineFramer()
    read: list[str] = []
    for chunk in chunked(data, how, random.Random(7)):
        read += framer.feed(chunk)
    assert read == lines
    assert [parse(line) for line in read] == [parse(line) for line in lines]


def test_the_fields_of_each_event() -> None:
    assert parse("23.06.18 13:20:24;RING;1;0123456789;987654;SIP4;") == MonitorEvent(
        Kind.RING, "1", "23.06.18 13:20:24", remote="0123456789", own_number="987654", trunk="SIP4"
    )
    assert parse("23.06.18 13:20:24;CALL;3;4;987654;0123456789;SIP0;") == MonitorEvent(
        Kind.CALL,
        "3",
        "23.06.18 13:20:24",
        device="4",
        own_number="987654",
        remote="0123456789",
        trunk="SIP0",
    )
    connect = parse("23.06.18 13:20:44;CONNECT;1;40;0123456789;")
    assert connect is not None and (connect.device, connect.remote) == ("40", "0123456789")
    disconnect = parse("23.06.18 13:20:52;DISCONNECT;1;9;")
    assert disconnect is not None and disconnect.duration == 9
    # Without the last ';' (fhem's and Go parsers' tests), and a withheld caller.
    ring = parse("21.09.25 15:30:45;RING;0;123456789;987654321;SIP0")
    assert ring is not None and ring.trunk == "SIP0"
    withheld = parse("28.08.10 10:22:07;RING;0;;123x;ISDN;")
    assert withheld is not None and withheld.remote == ""
    stamp = parse("28.08.10 10:22:07;RING;0;;123x;ISDN;")
    assert stamp is not None and stamp.stamp_time() is not None
    assert stamp.stamp_time().year == 2010  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "line",
    [
        "",
        "# a comment",
        "garbage",
        "1;2",
        "x;HELLO;1;2;3;",
        "x;RING;;1;2;",
        "x;DISCONNECT;1;-5;",
        "x;DISCONNECT;1;99999999999999999999;",
        "x;CONNECT;1",
        "\x00\xff;RING;1;" + "9" * 5000 + ";1;",
    ],
)
def test_odd_lines_are_read_or_skipped_never_raise(line: str) -> None:
    event = parse(line)
    if event is not None:
        assert len(event.remote) <= 200
        assert 0 <= event.duration <= 7 * 24 * 3600


def test_an_endless_line_is_skipped_and_the_next_one_read() -> None:
    framer = LineFramer()
    assert framer.feed(b"x" * (MAX_LINE + 10)) == []
    assert framer.feed(b"y" * 5000) == []
    assert framer.feed(b"\n01.01.25 10:00:00;DISCONNECT;0;0;\n") == [
        "01.01.25 10:00:00;DISCONNECT;0;0;"
    ]
    assert framer.skipped == 1
    assert framer.feed("\u00e4;RING;1;2;3;\n".encode("latin-1")) == ["\ufffd;RING;1;2;3;"]
