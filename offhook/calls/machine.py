"""The call state machine: one for all drivers, pure (no I/O), idempotent.

ringing (incoming) / dialling (outgoing) → connected → ended, with an end reason.

Phone systems repeat events, deliver them late and out of order (an "ended" can overtake the
"connected" before it). The machine therefore treats events as facts with timestamps, not as
commands: the state only moves forward, every timestamp is the earliest report of its fact, and
the end reason is derived from the facts whenever the driver could not say it. Applying the same
events in any order, any number of times, gives the same call.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide


@dataclass(slots=True)
class CallFacts:
    """What is known about one call; the persisted `Call` row mirrors these fields."""

    direction: Direction
    state: CallState
    started_at: datetime
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    end_reason_given: bool = False
    hangup_by: HangupSide | None = None
    remote_number: str = ""
    remote_name: str = ""

    def copy(self) -> CallFacts:
        return CallFacts(**{f.name: getattr(self, f.name) for f in fields(self)})

    @property
    def duration_seconds(self) -> float | None:
        if self.connected_at is None:
            return None
        if self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.connected_at).total_seconds())


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def begin(event: CallEvent) -> CallFacts:
    """The facts of a call first heard of through `event` (which may be any state)."""
    initial = CallState.RINGING if event.direction is Direction.INCOMING else CallState.DIALLING
    facts = CallFacts(direction=event.direction, state=initial, started_at=event.at)
    apply(facts, event)
    return facts


def apply(facts: CallFacts, event: CallEvent) -> bool:
    """Fold `event` into `facts` in place; True when anything changed."""
    before = facts.copy()

    if event.party_changed and event.remote_number:
        # A transfer or pickup: the line talks to someone else now (see `CallEvent`).
        facts.remote_number = event.remote_number
        facts.remote_name = event.remote_name
    # Caller ID often arrives only with a later event; never let an empty one erase it.
    if event.remote_number and not facts.remote_number:
        facts.remote_number = event.remote_number
    if event.remote_name and not facts.remote_name:
        facts.remote_name = event.remote_name

    facts.started_at = min(facts.started_at, event.at)

    if event.state is CallState.CONNECTED:
        connected = event.at
        if facts.ended_at is not None and connected > facts.ended_at:
            # A connect reported after the end (clock skew between sources): it did connect.
            connected = facts.ended_at
        facts.connected_at = _earliest(facts.connected_at, connected)
    elif event.state is CallState.ENDED:
        facts.ended_at = _earliest(facts.ended_at, event.at)
        # The first reason a driver gives wins; "answered" is never taken on trust (see below).
        given = event.end_reason not in (None, EndReason.ANSWERED)
        if given and not facts.end_reason_given:
            facts.end_reason = event.end_reason
            facts.end_reason_given = True
        if event.hangup_by is not None and facts.hangup_by is None:
            facts.hangup_by = event.hangup_by
        if facts.connected_at is not None and facts.connected_at > facts.ended_at:
            facts.connected_at = facts.ended_at

    if event.state.rank > facts.state.rank:
        facts.state = event.state
    if facts.connected_at is not None and facts.state.rank < CallState.CONNECTED.rank:
        facts.state = CallState.CONNECTED
    if facts.ended_at is not None:
        facts.state = CallState.ENDED
        facts.end_reason = _end_reason(facts)

    return facts != before


def _end_reason(facts: CallFacts) -> EndReason:
    """Connected calls were answered, whatever a driver guessed; others keep the given reason."""
    if facts.connected_at is not None:
        return EndReason.ANSWERED
    if facts.end_reason is not None and facts.end_reason_given:
        return facts.end_reason
    return EndReason.MISSED if facts.direction is Direction.INCOMING else EndReason.CANCELLED
