"""Fuzzing the parsers of what arrives on baresip's control connection (issue 8, deliverable 6).

Arbitrary bytes, cut anywhere, arbitrarily deep JSON and events with absurd fields go through
the netstring decoder, the ctrl JSON parser and the mapping to call events: nothing may raise,
and every input that is refused says why (`broken`, `problems`).

The CI run is kept short. For a release check run many more examples:

    OFFHOOK_FUZZ_EXAMPLES=20000 .venv/bin/pytest -q -p no:cacheprovider \
        tests/sip/test_sip_fuzz.py tests/calls/test_events_fuzz.py
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from offhook.drivers.sip.ctrl import MAX_NESTING, _is_json_object, _parse, nesting
from offhook.drivers.sip.mapping import LineCalls
from offhook.drivers.sip.netstring import FrameRefused, NetstringDecoder, encode
from offhook.store.types import utcnow

EXAMPLES = int(os.environ.get("OFFHOOK_FUZZ_EXAMPLES", "200"))
fuzz = settings(max_examples=EXAMPLES, deadline=None)

EVENT = {"event": True, "class": "call", "type": "CALL_INCOMING", "id": "1-1@127.0.0.1"}


def control_decoder() -> NetstringDecoder:
    """The decoder exactly as the control connection uses it."""
    return NetstringDecoder(max_size=4096, plausible=_is_json_object)


def nested(depth: int, opener: bytes) -> bytes:
    """An event whose field "x" nests `depth` arrays or objects."""
    inner, close = (b'{"a":', b"}") if opener == b"{" else (b"[", b"]")
    return b'{"event":true,"x":' + inner * depth + b"1" + close * depth + b"}"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@fuzz
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=6))
def test_any_bytes_cut_anywhere(data: bytes, cuts: list[int]) -> None:
    decoder = control_decoder()
    frames: list[bytes] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        frames += decoder.feed(data[start:cut])
        start = max(start, cut)
    assert all(isinstance(_parse(frame), dict) for frame in frames)
    assert decoder.broken is None or decoder.broken  # a reason, never an empty one
    assert all(problem.startswith("skipped") for problem in decoder.problems)


@fuzz
@given(
    st.integers(0, 3000),
    st.sampled_from([b"[", b"{"]),
    # Digits right before a frame would read as part of its length: that is other damage.
    st.binary(max_size=40).filter(lambda b: not b[-1:].isdigit()),
)
def test_nesting_of_any_depth_is_refused_with_a_reason(
    depth: int, opener: bytes, garbage: bytes
) -> None:
    payload = nested(depth, opener)
    decoder = NetstringDecoder(max_size=1 << 20, plausible=_is_json_object)
    frames = decoder.feed(garbage + encode(payload) + encode(json.dumps(EVENT).encode()))
    if depth + 1 > MAX_NESTING:
        assert decoder.broken is not None and "nests" in decoder.broken
        assert len(frames) <= 1  # garbage may hide nothing; the stream stops at the bad frame
    else:
        assert decoder.broken is None
        assert json.loads(frames[-1]) == EVENT


@fuzz
@given(json_values)
def test_nesting_bounds_what_the_parser_meets(value: Any) -> None:
    text = json.dumps({"event": True, "v": value}).encode()
    assert _parse(text) == {"event": True, "v": value} or nesting(text) > MAX_NESTING


@fuzz
@given(st.binary(max_size=500))
def test_the_parser_answers_or_refuses(payload: bytes) -> None:
    try:
        message = _parse(payload)
    except FrameRefused as exc:
        assert "nests" in str(exc)
    else:
        assert message is None or isinstance(message, dict)


absurd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=50),
    st.just("9" * 5000),
    st.just("x" * 300_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
call_types = st.sampled_from(
    [
        "CALL_INCOMING",
        "CALL_OUTGOING",
        "CALL_RINGING",
        "CALL_PROGRESS",
        "CALL_ESTABLISHED",
        "CALL_CLOSED",
        "CALL_ANSWERED",
        "OTHER",
    ]
)


@fuzz
@given(
    st.lists(
        st.fixed_dictionaries(
            {"event": st.just(True), "class": st.just("call"), "type": call_types},
            optional={
                "id": absurd,
                "direction": st.sampled_from(["incoming", "outgoing"]) | absurd,
                "peeruri": absurd,
                "peerdisplayname": absurd,
                "accountaor": absurd,
                "param": absurd,
            },
        ),
        max_size=8,
    )
)
def test_absurd_events_map_to_bounded_call_events_or_nothing(events: list[dict[str, Any]]) -> None:
    calls = LineCalls(1)
    for event in events:
        for call_event in calls.on_event(event, utcnow()):
            assert len(call_event.call_ref) <= 2000
            assert len(call_event.remote_number) <= 1000 and len(call_event.remote_name) <= 1000
