"""Parsing what a TAPI driver fills in: every size and offset is untrusted."""

from __future__ import annotations

import ctypes
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from offhook_agent.mapping import PartyId, TapiMessage
from offhook_agent.recording import Step, replay
from offhook_agent.structs import (
    LINECALLINFO,
    LINEDEVCAPS,
    build_call_info,
    line_name,
    parse_call_info,
)

FIXED = ctypes.sizeof(LINECALLINFO)
RING = [TapiMessage(23, 1, 0, 5, 2), TapiMessage(2, 5, 2, 0, 0)]  # APPNEWCALL, OFFERING


def test_a_call_info_as_a_driver_fills_it_round_trips() -> None:
    blob = build_call_info(
        4711,
        4,
        caller=PartyId("+41441234567", "Müller AG", 12),
        called=PartyId("201"),
        connected=PartyId("+41441234500", "Zentrale"),
    )
    info = parse_call_info(blob)
    assert info is not None
    assert (info.call_id, info.origin) == (4711, 4)
    assert info.caller == PartyId("+41441234567", "Müller AG", 12)
    assert info.called.number == "201"
    assert info.connected == PartyId("+41441234500", "Zentrale", 0)


def test_offsets_outside_what_the_driver_filled_are_ignored() -> None:
    blob = bytearray(build_call_info(1, 4, caller=PartyId("+41441234567", "Name")))
    # dwUsedSize smaller than where the strings are: they are not trusted.
    struct.pack_into("<I", blob, LINECALLINFO.dwUsedSize.offset, FIXED)
    info = parse_call_info(bytes(blob))
    assert info is not None and info.caller.number == "" and info.caller.name == ""
    # An offset pointing past the end.
    blob = bytearray(build_call_info(1, 4, caller=PartyId("+41441234567")))
    struct.pack_into("<I", blob, LINECALLINFO.dwCallerIDOffset.offset, 10_000_000)
    moved = parse_call_info(bytes(blob))
    assert moved is not None and moved.caller.number == ""
    assert parse_call_info(b"\0" * 20) is None  # too short to be one


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=0, max_size=FIXED + 200), st.lists(st.integers(0, 2**32 - 1), max_size=30)
)
def test_any_bytes_parse_without_crashing(noise: bytes, fields: list[int]) -> None:
    blob = bytearray(noise.ljust(FIXED, b"\0")) if len(noise) >= 208 else bytearray(noise)
    for index, value in enumerate(fields):
        offset = 4 * (index * 7 % (len(blob) // 4 or 1))
        if offset + 4 <= len(blob):
            struct.pack_into("<I", blob, offset, value)
    info = parse_call_info(bytes(blob))
    if info is not None:
        for party in (info.caller, info.called, info.connected):
            assert len(party.number) <= len(blob) and len(party.name) <= len(blob)
        # Whatever it holds, the mapping turns it into bounded, printable text.
        steps = [Step("x", m, info) for m in RING]
        for _, update in replay(steps):
            assert update.remote_number.isprintable() and len(update.remote_number) <= 200


def test_a_line_name() -> None:
    caps = LINEDEVCAPS()
    name = "Swyx Line 201 (Anna Keller)\0".encode("utf-16-le")
    size = ctypes.sizeof(caps)
    caps.dwTotalSize = caps.dwNeededSize = caps.dwUsedSize = size + len(name)
    caps.dwLineNameSize, caps.dwLineNameOffset, caps.dwStringFormat = len(name), size, 3
    caps.dwPermanentLineID = 7001
    assert line_name(bytes(caps) + name) == ("Swyx Line 201 (Anna Keller)", 7001)
