"""A transfer or pickup replaces the remote party; other events only fill it in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from offhook.calls.events import CallEvent, CallState, Direction
from offhook.calls.machine import apply, begin

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _event(state: CallState, seconds: int, number: str, name: str = "", **more: bool) -> CallEvent:
    return CallEvent(
        line_id=1,
        call_ref="c",
        direction=Direction.INCOMING,
        state=state,
        at=T0 + timedelta(seconds=seconds),
        remote_number=number,
        remote_name=name,
        **more,
    )


def test_a_later_number_only_fills_in_but_a_party_change_replaces() -> None:
    facts = begin(_event(CallState.RINGING, 0, "201", "Anna"))
    apply(facts, _event(CallState.CONNECTED, 1, "401", "Group"))
    assert (facts.remote_number, facts.remote_name) == ("201", "Anna")
    apply(facts, _event(CallState.CONNECTED, 5, "203", "", party_changed=True))
    assert (facts.remote_number, facts.remote_name) == ("203", "")
    assert facts.state is CallState.CONNECTED


def test_a_party_change_without_a_number_keeps_the_party() -> None:
    facts = begin(_event(CallState.RINGING, 0, "201", "Anna"))
    apply(facts, _event(CallState.CONNECTED, 1, "", "", party_changed=True))
    assert (facts.remote_number, facts.remote_name) == ("201", "Anna")
