"""The call state machine: any order, any repetition of a call's events gives the same call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide
from offhook.calls.machine import CallFacts, apply, begin

T0 = datetime(2026, 11, 26, 9, 41, 0, tzinfo=UTC)


def ev(
    state: CallState, seconds: float, direction: Direction = Direction.INCOMING, **kw: object
) -> CallEvent:
    return CallEvent(
        line_id=1,
        call_ref="c1",
        direction=direction,
        state=state,
        at=T0 + timedelta(seconds=seconds),
        **kw,  # type: ignore[arg-type]
    )


def play(events: list[CallEvent]) -> CallFacts:
    facts = begin(events[0])
    for event in events[1:]:
        apply(facts, event)
    return facts


def test_answered_incoming_call() -> None:
    facts = play(
        [
            ev(CallState.RINGING, 0, remote_number="+41446681812", remote_name="Anna"),
            ev(CallState.CONNECTED, 5),
            ev(CallState.ENDED, 65, hangup_by=HangupSide.REMOTE),
        ]
    )
    assert facts.state is CallState.ENDED
    assert facts.end_reason is EndReason.ANSWERED
    assert facts.connected_at == T0 + timedelta(seconds=5)
    assert facts.duration_seconds == 60
    assert facts.hangup_by is HangupSide.REMOTE
    assert facts.remote_number == "+41446681812"


def test_unanswered_incoming_call_is_missed_and_outgoing_is_cancelled() -> None:
    assert play([ev(CallState.RINGING, 0), ev(CallState.ENDED, 9)]).end_reason is EndReason.MISSED
    outgoing = play(
        [ev(CallState.DIALLING, 0, Direction.OUTGOING), ev(CallState.ENDED, 9, Direction.OUTGOING)]
    )
    assert outgoing.end_reason is EndReason.CANCELLED


def test_given_reason_is_kept_for_unanswered_calls() -> None:
    facts = play(
        [
            ev(CallState.DIALLING, 0, Direction.OUTGOING),
            ev(CallState.ENDED, 2, Direction.OUTGOING, end_reason=EndReason.BUSY),
        ]
    )
    assert facts.end_reason is EndReason.BUSY
    assert facts.end_reason_given


def test_late_connected_turns_missed_into_answered() -> None:
    facts = play([ev(CallState.RINGING, 0), ev(CallState.ENDED, 60), ev(CallState.CONNECTED, 5)])
    assert facts.end_reason is EndReason.ANSWERED
    assert facts.duration_seconds == 55


def test_duplicate_events_change_nothing() -> None:
    facts = play([ev(CallState.RINGING, 0), ev(CallState.CONNECTED, 5)])
    snapshot = facts.copy()
    assert not apply(facts, ev(CallState.RINGING, 0))
    assert not apply(facts, ev(CallState.CONNECTED, 5))
    assert facts == snapshot


def test_state_never_goes_back() -> None:
    facts = play([ev(CallState.RINGING, 0), ev(CallState.CONNECTED, 5), ev(CallState.ENDED, 9)])
    apply(facts, ev(CallState.RINGING, 10))
    apply(facts, ev(CallState.CONNECTED, 11))
    assert facts.state is CallState.ENDED
    assert facts.connected_at == T0 + timedelta(seconds=5)
    assert facts.ended_at == T0 + timedelta(seconds=9)


def test_caller_id_arriving_later_is_kept_and_never_erased() -> None:
    facts = play([ev(CallState.RINGING, 0), ev(CallState.RINGING, 1, remote_number="0441234567")])
    apply(facts, ev(CallState.CONNECTED, 2, remote_number=""))
    assert facts.remote_number == "0441234567"


def test_outgoing_ringing_is_dialling_and_incoming_dialling_is_ringing() -> None:
    assert ev(CallState.RINGING, 0, Direction.OUTGOING).state is CallState.DIALLING
    assert ev(CallState.DIALLING, 0, Direction.INCOMING).state is CallState.RINGING


def test_event_needs_reference_and_zone() -> None:
    with pytest.raises(ValueError, match="reference"):
        CallEvent(1, "", Direction.INCOMING, CallState.RINGING)
    with pytest.raises(ValueError, match="time zone"):
        CallEvent(1, "x", Direction.INCOMING, CallState.RINGING, at=datetime(2026, 1, 1))


# --- properties --------------------------------------------------------------------------------


@st.composite
def call_histories(draw: st.DrawFn) -> tuple[list[CallEvent], Direction, bool, EndReason | None]:
    direction = draw(st.sampled_from(Direction))
    answered = draw(st.booleans())
    t_connect = draw(st.integers(1, 120))
    t_end = t_connect + draw(st.integers(0, 3600))
    first = CallState.RINGING if direction is Direction.INCOMING else CallState.DIALLING
    reason = None
    if not answered:
        reason = draw(st.sampled_from([None, EndReason.BUSY, EndReason.REJECTED, EndReason.FAILED]))
    events = [ev(first, 0, direction, remote_number="+41446681812")]
    if answered:
        events.append(ev(CallState.CONNECTED, t_connect, direction))
    events.append(ev(CallState.ENDED, t_end, direction, end_reason=reason))
    return events, direction, answered, reason


@given(call_histories(), st.data())
def test_any_order_and_repetition_gives_the_same_call(
    history: tuple[list[CallEvent], Direction, bool, EndReason | None], data: st.DataObject
) -> None:
    events, direction, answered, reason = history
    expected = play(events)
    shuffled = data.draw(
        st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=4)))
    )
    assert play(list(shuffled)) == expected
    assert expected.state is CallState.ENDED
    assert expected.started_at == T0
    if answered:
        assert expected.end_reason is EndReason.ANSWERED
    elif reason is not None:
        assert expected.end_reason is reason
    else:
        assert expected.end_reason is (
            EndReason.MISSED if direction is Direction.INCOMING else EndReason.CANCELLED
        )
