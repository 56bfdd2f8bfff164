"""The pure TAPI mapping: message sequences in, call events out, with the vendors' variations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from offhook_agent import constants as c
from offhook_agent.mapping import CallInfo, CallUpdate, LineCalls, PartyId, TapiMessage

HLINE = 0x10001


def newcall(hcall: int) -> TapiMessage:
    return TapiMessage(c.LINE_APPNEWCALL, HLINE, 0, hcall, c.LINECALLPRIVILEGE_MONITOR)


def state(hcall: int, value: int, mode: int = 0) -> TapiMessage:
    return TapiMessage(c.LINE_CALLSTATE, hcall, value, mode, 0)


def info_changed(hcall: int, bits: int = c.LINECALLINFOSTATE_CALLERID) -> TapiMessage:
    return TapiMessage(c.LINE_CALLINFO, hcall, bits, 0, 0)


def incoming(number: str = "+41441234567", name: str = "Müller AG", call_id: int = 77) -> CallInfo:
    return CallInfo(
        call_id=call_id,
        origin=c.LINECALLORIGIN_EXTERNAL,
        caller=PartyId(number, name, c.LINECALLPARTYID_ADDRESS | c.LINECALLPARTYID_NAME),
        called=PartyId("201", "", c.LINECALLPARTYID_ADDRESS),
    )


def run(steps: list[tuple[TapiMessage, CallInfo | None]]) -> list[CallUpdate]:
    calls = LineCalls()
    out: list[CallUpdate] = []
    for message, info in steps:
        out += calls.feed(message, info)
    return out


def states(updates: list[CallUpdate]) -> list[str]:
    return [u.state for u in updates]


def test_an_answered_incoming_call() -> None:
    info = incoming()
    out = run(
        [
            (newcall(5), info),
            (state(5, c.LINECALLSTATE_OFFERING), info),
            (state(5, c.LINECALLSTATE_CONNECTED), info),
            (state(5, c.LINECALLSTATE_DISCONNECTED, c.LINEDISCONNECTMODE_NORMAL), info),
            (state(5, c.LINECALLSTATE_IDLE), info),
        ]
    )
    assert states(out) == ["ringing", "connected", "ended"]
    assert {u.call_ref for u in out} == {"77"}
    assert out[0].direction == "incoming"
    assert out[0].remote_number == "+41441234567"
    assert out[0].remote_name == "Müller AG"
    assert out[0].origin == "external"
    assert out[-1].end_reason is None  # answered: the core knows it was connected


def test_caller_id_only_after_connected_updates_the_call() -> None:
    bare = CallInfo(call_id=9, origin=c.LINECALLORIGIN_UNKNOWN)
    out = run(
        [
            (newcall(5), bare),
            (state(5, c.LINECALLSTATE_OFFERING), bare),
            (state(5, c.LINECALLSTATE_CONNECTED), bare),
            (info_changed(5), incoming(call_id=9)),
            (state(5, c.LINECALLSTATE_IDLE), incoming(call_id=9)),
        ]
    )
    assert states(out) == ["ringing", "connected", "connected", "ended"]
    assert out[1].remote_number == ""
    assert out[2].remote_number == "+41441234567"
    assert out[-1].remote_number == "+41441234567"


def test_an_outgoing_call_without_proceeding_and_a_busy_end() -> None:
    info = CallInfo(
        call_id=3, origin=c.LINECALLORIGIN_OUTBOUND, called=PartyId("0441234567", "", 8)
    )
    out = run(
        [
            (newcall(8), info),
            (state(8, c.LINECALLSTATE_DIALING), info),
            (state(8, c.LINECALLSTATE_BUSY), info),
            (state(8, c.LINECALLSTATE_DISCONNECTED, c.LINEDISCONNECTMODE_BUSY), info),
            (state(8, c.LINECALLSTATE_IDLE), info),
        ]
    )
    assert states(out) == ["dialling", "ended"]
    assert out[0].direction == "outgoing"
    assert out[0].remote_number == "0441234567"
    assert out[1].end_reason == "busy"


def test_unknown_states_change_nothing_and_a_call_known_only_as_unknown_is_not_reported() -> None:
    info = incoming()
    out = run(
        [
            (newcall(5), info),
            (state(5, c.LINECALLSTATE_UNKNOWN), info),
            (state(5, c.LINECALLSTATE_IDLE), info),
            (newcall(6), info),
            (state(6, c.LINECALLSTATE_OFFERING), info),
            (state(6, c.LINECALLSTATE_UNKNOWN), info),
            (state(6, c.LINECALLSTATE_CONNECTED), info),
        ]
    )
    assert states(out) == ["ringing", "connected"]


def test_a_call_that_goes_idle_without_disconnected_ends() -> None:
    info = incoming()
    out = run([(newcall(5), info), (state(5, c.LINECALLSTATE_OFFERING), info), (state(5, 1), info)])
    assert states(out) == ["ringing", "ended"]
    assert out[-1].end_reason is None  # the core calls an unanswered incoming call missed


def test_two_calls_on_one_line_are_independent() -> None:
    first, second = incoming(call_id=1), incoming("+4930901820", "Zweite", call_id=2)
    out = run(
        [
            (newcall(5), first),
            (state(5, c.LINECALLSTATE_OFFERING), first),
            (state(5, c.LINECALLSTATE_CONNECTED), first),
            (newcall(6), second),
            (state(6, c.LINECALLSTATE_OFFERING), second),
            (state(5, c.LINECALLSTATE_ONHOLD), first),
            (state(6, c.LINECALLSTATE_CONNECTED), second),
            (state(6, c.LINECALLSTATE_DISCONNECTED, c.LINEDISCONNECTMODE_NORMAL), second),
            (state(5, c.LINECALLSTATE_CONNECTED), first),
        ]
    )
    by_ref: dict[str, list[str]] = {}
    for update in out:
        by_ref.setdefault(update.call_ref, []).append(update.state)
    assert by_ref == {"1": ["ringing", "connected"], "2": ["ringing", "connected", "ended"]}


def test_a_conference_and_a_transfer() -> None:
    a, b = incoming(call_id=1), incoming("+4930901820", call_id=2)
    conference = CallInfo(call_id=3, origin=c.LINECALLORIGIN_CONFERENCE)
    out = run(
        [
            (newcall(5), a),
            (state(5, c.LINECALLSTATE_CONNECTED), a),
            (state(5, c.LINECALLSTATE_ONHOLDPENDCONF), a),
            (newcall(7), conference),
            (state(7, c.LINECALLSTATE_ONHOLDPENDCONF), conference),
            (state(5, c.LINECALLSTATE_CONFERENCED), a),
            (state(7, c.LINECALLSTATE_CONNECTED), conference),
            (newcall(6), b),
            (state(6, c.LINECALLSTATE_CONNECTED), b),
            (state(6, c.LINECALLSTATE_ONHOLDPENDTRANSFER), b),
            (state(6, c.LINECALLSTATE_IDLE), b),
            (state(7, c.LINECALLSTATE_IDLE), conference),
            (state(5, c.LINECALLSTATE_IDLE), a),
        ]
    )
    assert "3" not in {u.call_ref for u in out}  # the conference itself is no call
    assert [(u.call_ref, u.state) for u in out] == [
        ("1", "connected"),
        ("2", "connected"),
        ("2", "ended"),
        ("1", "ended"),
    ]


def test_end_reasons_by_direction() -> None:
    def ended(info: CallInfo, first: int, mode: int) -> CallUpdate:
        out = run(
            [
                (newcall(5), info),
                (state(5, first), info),
                (state(5, c.LINECALLSTATE_DISCONNECTED, mode), info),
            ]
        )
        return out[-1]

    out_info = CallInfo(call_id=4, origin=c.LINECALLORIGIN_OUTBOUND)
    assert ended(incoming(), c.LINECALLSTATE_OFFERING, c.LINEDISCONNECTMODE_REJECT).end_reason == (
        "rejected"
    )
    assert ended(incoming(), c.LINECALLSTATE_OFFERING, c.LINEDISCONNECTMODE_PICKUP).end_reason == (
        "answered_elsewhere"
    )
    assert ended(incoming(), 2, c.LINEDISCONNECTMODE_CANCELLED).end_reason == "missed"
    assert ended(out_info, 0x10, c.LINEDISCONNECTMODE_CANCELLED).end_reason == "cancelled"
    assert ended(out_info, 0x10, c.LINEDISCONNECTMODE_UNREACHABLE).end_reason == "failed"
    assert ended(out_info, 0x10, c.LINEDISCONNECTMODE_NOANSWER).end_reason is None


def test_a_withheld_number_and_hostile_text() -> None:
    blocked = CallInfo(call_id=1, origin=4, caller=PartyId("", "", c.LINECALLPARTYID_BLOCKED))
    assert run([(newcall(5), blocked), (state(5, 2), blocked)])[0].remote_number == "anonymous"
    hostile = incoming("+41\x00\x1b[31m44" + "9" * 500, "<script>\n" * 100)
    update = run([(newcall(5), hostile), (state(5, 2), hostile)])[0]
    assert len(update.remote_number) <= 200 and "\x1b" not in update.remote_number
    assert "\n" not in update.remote_name and len(update.remote_name) <= 200


def test_a_dialled_call_carries_the_dial_reference() -> None:
    calls = LineCalls()
    assert calls.dialled(9, "d-1") == [CallUpdate("h9", "outgoing", "dialling", dial_ref="d-1")]
    info = CallInfo(call_id=12, origin=1, called=PartyId("+4930901820", "", 8))
    out = calls.feed(state(9, c.LINECALLSTATE_PROCEEDING), info)
    assert out[-1].dial_ref == "d-1" and out[-1].call_ref == "h9"  # the ref never changes
    assert calls.hcall_of("h9") == 9 and calls.hcall_of("dial:d-1") == 9


def test_an_hcall_offered_again_ends_the_old_call() -> None:
    out = run(
        [
            (newcall(5), incoming(call_id=1)),
            (state(5, 2), incoming(call_id=1)),
            (newcall(5), incoming(call_id=2)),
            (state(5, 2), incoming(call_id=2)),
        ]
    )
    assert [(u.call_ref, u.state) for u in out] == [
        ("1", "ringing"),
        ("1", "ended"),
        ("2", "ringing"),
    ]


def test_snapshot_has_the_live_calls() -> None:
    calls = LineCalls()
    for message, info in [
        (newcall(5), incoming(call_id=1)),
        (state(5, 2), incoming(call_id=1)),
        (newcall(6), incoming(call_id=2)),
        (state(6, 2), incoming(call_id=2)),
        (state(6, 0x4000, 1), incoming(call_id=2)),
    ]:
        calls.feed(message, info)
    assert [u.call_ref for u in calls.live()] == ["1"]
    calls.close()
    assert calls.live() == []


ALL_STATES = [*c.CALLSTATE_NAMES, 0x10000, 0]
MODES = [0, 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80, 0x80000, 0x20000]
ORIGINS = [0, 1, 2, 4, 0x10, 0x20, 0x40, 0x80]

infos = st.builds(
    CallInfo,
    call_id=st.integers(0, 3),
    origin=st.sampled_from(ORIGINS),
    caller=st.builds(PartyId, st.text(max_size=30), st.text(max_size=30), st.integers(0, 0x7F)),
    called=st.builds(PartyId, st.text(max_size=30), st.text(max_size=30), st.integers(0, 0x7F)),
)
messages = st.one_of(
    st.builds(lambda h: newcall(h), st.integers(1, 3)),
    st.builds(state, st.integers(1, 3), st.sampled_from(ALL_STATES), st.sampled_from(MODES)),
    st.builds(info_changed, st.integers(1, 3)),
    st.builds(TapiMessage, st.integers(0, 30), st.integers(0, 5), st.integers(0, 2**32)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(messages, st.one_of(st.none(), infos)), max_size=40))
def test_any_sequence_makes_calls_that_only_move_forward(
    steps: list[tuple[TapiMessage, CallInfo | None]],
) -> None:
    calls = LineCalls()
    rank = {"ringing": 0, "dialling": 0, "connected": 1, "ended": 2}
    seen: dict[str, CallUpdate] = {}
    for message, info in steps:
        for update in calls.feed(message, info):
            before = seen.get(update.call_ref)
            # A reference ends once, and no call comes back under the reference of another.
            assert before is None or before.state != "ended"
            if before is not None and before.state != "ended":
                assert rank[update.state] >= rank[before.state]
                assert update.direction == before.direction
            assert len(update.remote_number) <= 200 and update.remote_number.isprintable()
            assert len(update.remote_name) <= 200 and update.remote_name.isprintable()
            seen[update.call_ref] = update
    live = {u.call_ref for u in calls.live()}
    assert all(seen[ref].state != "ended" for ref in live)


def test_a_call_announced_twice_stays_one_call() -> None:
    # As when a line is opened while a call arrives: lineGetNewCalls and LINE_APPNEWCALL.
    info = incoming(call_id=30)
    out = run([(newcall(5), info), (state(5, 2), info), (newcall(5), info), (state(5, 2), info)])
    assert [(u.call_ref, u.state) for u in out] == [("30", "ringing")]
