"""Call-monitor events → call events: what happened to which call on which line.

| call monitor | call event |
|---|---|
| RING | incoming, ringing, on the lines of the number called (`phones.Routes.ringing`) |
| CALL | outgoing, dialling, on the phone's line, else its number's (`phones.Routes.taken`) |
| CONNECT | connected on the line of the phone that took it, else on the number's |
| DISCONNECT | ended, on every line of the call; the reason below |

The other lines an answered call rang on are ended by the core as answered elsewhere.

| the call | DISCONNECT | end reason |
|---|---|---|
| connected on a phone with a line here | any | answered |
| incoming, taken by a phone without a line here | any | answered elsewhere |
| incoming, taken by the answering machine | any | missed |
| incoming, never connected, ended the second it rang | 0 | rejected (the box blocked it) |
| incoming, never connected | 0 | missed |
| outgoing, never connected | 0 | cancelled (the box does not say busy or no answer) |

The box counts the seconds connected in DISCONNECT; that count is the call's duration here too,
even where the lines arrived faster than the call took (a replay, a delayed connection), so the
journal shows what the box measured. Times are when the lines arrive, not the box's own stamps:
the box's clock and time zone are not to be trusted, and a call is live.

Connection ids are reused after each call; the call reference adds when the call began, so
yesterday's call 0 is never today's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide
from offhook.drivers.fritzbox.monitor import Kind, MonitorEvent
from offhook.drivers.fritzbox.phones import ANSWERING_MACHINES, Routes

#: How many calls may be open at once on one box before the oldest is dropped: a box has a few
#: lines; a peer that opens calls without end must not grow this without end.
MAX_OPEN_CALLS = 64
#: How long a dial may take to show up as a CALL line: the box rings the user's phone first, and
#: the number is dialled once they pick it up.
DIAL_WAIT = timedelta(seconds=90)


@dataclass
class PendingDial:
    """A call offhook asked the box to place, until its CALL line names it."""

    dial_ref: str
    line_id: int
    dial_string: str
    until: datetime


@dataclass
class TrackedCall:
    call_ref: str
    direction: Direction
    remote: str
    started: MonitorEvent
    lines: dict[int, CallState] = field(default_factory=dict)
    connected_at: datetime | None = None
    device: str = ""  # the phone that took it
    dial_ref: str | None = None


class CallTracker:
    """The open calls of one box by connection id; `on` turns each event into call events."""

    def __init__(
        self, routes: Routes, emit: Callable[[CallEvent], None], now: Callable[[], datetime]
    ) -> None:
        self.routes = routes
        self._emit = emit
        self._now = now
        self.calls: dict[str, TrackedCall] = {}
        self.pending: list[PendingDial] = []

    def on(self, event: MonitorEvent) -> None:
        at = self._now()
        if event.kind is Kind.RING:
            self._ring(event, at)
        elif event.kind is Kind.CALL:
            self._call(event, at)
        elif event.kind is Kind.CONNECT:
            self._connect(event, at)
        else:
            self._disconnect(event, at)

    def open_refs(self) -> list[str]:
        return [call.call_ref for call in self.calls.values()]

    # -- events ---------------------------------------------------------------------------------

    def _begin(self, event: MonitorEvent, direction: Direction, at: datetime) -> TrackedCall:
        stale = self.calls.pop(event.connection, None)
        if stale is not None:
            # The box reuses an id only after DISCONNECT: that line was lost. End the old call.
            self._end(stale, at, None)
        while len(self.calls) >= MAX_OPEN_CALLS:
            self._end(self.calls.pop(next(iter(self.calls))), at, None)
        ref = f"fritzbox:{at.strftime('%Y%m%dT%H%M%S.%f')}:{event.connection[:20]}"
        call = TrackedCall(ref, direction, event.remote, event)
        self.calls[event.connection] = call
        return call

    def _ring(self, event: MonitorEvent, at: datetime) -> None:
        call = self._begin(event, Direction.INCOMING, at)
        for line_id in self.routes.ringing(event.own_number):
            self._set(call, line_id, CallState.RINGING, at)

    def _call(self, event: MonitorEvent, at: datetime) -> None:
        call = self._begin(event, Direction.OUTGOING, at)
        call.device = event.device
        lines = self.routes.taken(event.device, event.own_number)
        call.dial_ref = self._dial_ref(lines, event.remote, at)
        for line_id in lines:
            self._set(call, line_id, CallState.DIALLING, at)

    def _connect(self, event: MonitorEvent, at: datetime) -> None:
        call = self.calls.get(event.connection)
        if call is None:
            # The RING went by before offhook listened: an incoming call, answered.
            call = self._begin(event, Direction.INCOMING, at)
        if event.remote and not call.remote:
            call.remote = event.remote
        call.device = event.device or call.device
        call.connected_at = call.connected_at or at
        if call.direction is Direction.INCOMING and event.device in ANSWERING_MACHINES:
            phone = self.routes.phone(event.device)
            if phone is not None:  # a line for the answering machine itself
                self._set(call, phone, CallState.CONNECTED, at)
            return  # for the people it rang for, still not answered
        for line_id in self.routes.taken(event.device, call.started.own_number):
            self._set(call, line_id, CallState.CONNECTED, at)

    def _disconnect(self, event: MonitorEvent, at: datetime) -> None:
        call = self.calls.pop(event.connection, None)
        if call is None:
            return  # began before offhook listened, and nothing of it was shown
        if event.duration > 0:
            # What the box measured is the duration (see the module's docstring).
            connected = min(call.connected_at or at, at - timedelta(seconds=event.duration))
            for line_id, state in list(call.lines.items()):
                if state is CallState.CONNECTED or (
                    call.connected_at is None and call.direction is Direction.OUTGOING
                ):
                    self._set(call, line_id, CallState.CONNECTED, connected, force=True)
        self._end(call, at, event)

    def _end(self, call: TrackedCall, at: datetime, event: MonitorEvent | None) -> None:
        reason, side = self._reason(call, event)
        elsewhere = self._elsewhere_reason(call) if call.connected_at is not None else None
        for line_id, state in list(call.lines.items()):
            if state is CallState.ENDED:
                continue
            line_reason = reason
            if state is not CallState.CONNECTED and call.connected_at is not None:
                line_reason = elsewhere
            elif state is CallState.CONNECTED:
                line_reason = EndReason.ANSWERED
            self._set(call, line_id, CallState.ENDED, at, reason=line_reason, side=side)

    def _elsewhere_reason(self, call: TrackedCall) -> EndReason | None:
        if call.direction is Direction.OUTGOING:
            return None
        if call.device in ANSWERING_MACHINES:
            return EndReason.MISSED
        if self.routes.phone(call.device) is not None:
            return None  # the core says "answered elsewhere": it knows where
        return EndReason.ANSWERED_ELSEWHERE

    @staticmethod
    def _reason(
        call: TrackedCall, event: MonitorEvent | None
    ) -> tuple[EndReason | None, HangupSide | None]:
        if event is None:
            return None, None  # lost track of it: let the core decide
        if call.connected_at is not None or event.duration > 0:
            return EndReason.ANSWERED, None
        if call.direction is Direction.OUTGOING:
            return EndReason.CANCELLED, HangupSide.LOCAL
        if call.started.stamp and call.started.stamp == event.stamp:
            # Ended the second it rang: the box's call barring, not a caller who gave up.
            return EndReason.REJECTED, HangupSide.LOCAL
        return EndReason.MISSED, HangupSide.REMOTE

    # -- emitting -------------------------------------------------------------------------------

    def _set(
        self,
        call: TrackedCall,
        line_id: int,
        state: CallState,
        at: datetime,
        reason: EndReason | None = None,
        side: HangupSide | None = None,
        force: bool = False,
    ) -> None:
        before = call.lines.get(line_id)
        if before is None and state is not CallState.RINGING and state is not CallState.DIALLING:
            # First seen on this line now (an incoming call taken by a phone it did not ring
            # on): it rang there first.
            first = CallState.RINGING if call.direction is Direction.INCOMING else state
            if first is not state:
                self._send(call, line_id, first, at, None, None)
        elif before is not None and before.rank >= state.rank and not force:
            return
        call.lines[line_id] = state
        self._send(call, line_id, state, at, reason, side)

    def _send(
        self,
        call: TrackedCall,
        line_id: int,
        state: CallState,
        at: datetime,
        reason: EndReason | None,
        side: HangupSide | None,
    ) -> None:
        self._emit(
            CallEvent(
                line_id=line_id,
                call_ref=call.call_ref,
                direction=call.direction,
                state=state,
                at=at,
                remote_number=call.remote,
                end_reason=reason,
                hangup_by=side,
                dial_ref=call.dial_ref,
            )
        )

    # -- dialling -------------------------------------------------------------------------------

    def expect_dial(self, dial_ref: str, line_id: int, dial_string: str) -> None:
        now = self._now()
        self.pending = [p for p in self.pending if p.until > now][-MAX_OPEN_CALLS:]
        self.pending.append(PendingDial(dial_ref, line_id, dial_string, now + DIAL_WAIT))

    def _dial_ref(self, lines: list[int], dialled: str, at: datetime) -> str | None:
        """The dial offhook asked for that this CALL is: same line, same number, in time."""
        self.pending = [p for p in self.pending if p.until > at]
        wanted = "".join(c for c in dialled if c.isdigit() or c in "*#")
        for pending in self.pending:
            target = "".join(c for c in pending.dial_string if c.isdigit() or c in "*#")
            if pending.line_id in lines and (not wanted or wanted.endswith(target[-6:])):
                self.pending.remove(pending)
                return pending.dial_ref
        return None
