"""From pushes to call events: the part every webhook driver shares.

Providers push what they see, in the order their servers send it, possibly twice, possibly
after a restart of offhook: the tracker remembers the calls it heard of (bounded) and reports
each push as call events on the lines it concerns. It never guesses a line: a push it cannot
place on one of the phone system's lines changes nothing.

- A new call rings on every line of the users it names (or, if it names none of them, of the
  number called); outgoing, it is dialled on the caller's line.
- An answer connects the line of the user who answered; the core ends the call on the other
  lines as answered elsewhere. Answered by a mailbox, it stays unanswered (missed). Answered by
  someone without a line here, the lines that rang show it answered elsewhere.
- A hang-up ends the call on all its lines with the reason the provider gives.
- A forwarded or transferred call is a new call with the first one's id (`original_call_id`):
  when it is answered, the first call's unanswered lines show it answered elsewhere.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from offhook.drivers import CallEvent, CallState, Direction, EndReason, PhoneSystemContext
from offhook.drivers.webhooks.lines import LineMap, number_key, same_number
from offhook.drivers.webhooks.push import Ending, Push, PushKind

#: The most calls remembered per phone system; the oldest are forgotten first.
CAPACITY = 10_000
#: How long a dial offhook asked for waits for its call's first push, in seconds.
DIAL_WAIT = 120.0


@dataclass
class TrackedCall:
    direction: Direction
    remote_number: str
    remote_name: str
    legs: list[int] = field(default_factory=list)
    #: Each leg's direction and remote number, where it differs from the call's: an internal
    #: call is dialled on the caller's line and rings on the callee's, under one call id.
    leg_direction: dict[int, Direction] = field(default_factory=dict)
    leg_remote: dict[int, str] = field(default_factory=dict)
    connected: set[int] = field(default_factory=set)
    dial_ref: str | None = None
    voicemail: bool = False
    answered_outside: bool = False
    ended: bool = False
    #: When it ended and how long the provider says it was connected, for an answer that
    #: arrives after the hang-up.
    ended_at: datetime | None = None
    duration: float | None = None
    follows: str = ""


@dataclass(frozen=True, slots=True)
class _Dial:
    line_id: int
    number: tuple[str, bool] | None
    dial_ref: str
    call_id: str
    until: float


class CallTracker:
    def __init__(
        self,
        context: PhoneSystemContext,
        ending: Callable[[str, Direction], Ending],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.context = context
        self.lines = LineMap(context.lines)
        self._ending = ending
        self._clock = clock
        self.calls: OrderedDict[str, TrackedCall] = OrderedDict()
        self._dials: list[_Dial] = []

    def lines_changed(self) -> None:
        self.lines = LineMap(self.context.lines)

    # --- dialling --------------------------------------------------------------------------------

    def expect_dial(self, line_id: int, number: str, dial_ref: str, call_id: str = "") -> None:
        """A call offhook asked the provider to place: its first push carries `dial_ref`."""
        now = self._clock()
        # One entry per dial: told the provider's id for it later, the entry learns it.
        self._dials = [d for d in self._dials if d.until > now and d.dial_ref != dial_ref]
        self._dials.append(_Dial(line_id, number_key(number), dial_ref, call_id, now + DIAL_WAIT))

    def _take_dial(self, call_id: str, legs: list[int], remote: str) -> str | None:
        now = self._clock()
        key = number_key(remote)
        for dial in self._dials:
            if dial.until <= now:
                continue
            by_id = bool(dial.call_id) and dial.call_id == call_id
            by_number = (
                dial.line_id in legs
                and dial.number is not None
                and key is not None
                and same_number(dial.number, key)
            )
            if by_id or by_number:
                self._dials.remove(dial)
                return dial.dial_ref
        return None

    # --- pushes ----------------------------------------------------------------------------------

    def apply(self, push: Push, at: datetime | None = None) -> str:
        """Report `push` as call events; returns what it did, in words for the set-up page."""
        at = at or datetime.now(UTC)
        call = self.calls.get(push.call_id)
        if call is not None:
            self.calls.move_to_end(push.call_id)
        if push.kind is PushKind.NEW or call is None:
            call = self._begin(push, call, at)
            if call is None:
                return "not placed: the push does not say whether the call came in or went out"
        if not call.legs and push.kind is not PushKind.ANSWER:
            return "no line here is one of the users or numbers of this call"
        if push.kind is PushKind.ANSWER:
            return self._answer(call, push, at)
        if push.kind is PushKind.HANGUP:
            return self._hang_up(call, push, at)
        return f"ringing on {len(call.legs)} line(s)"

    def _resolve(self, push: Push, direction: Direction) -> list[int]:
        found: list[int] = []
        for names in push.users:
            lines = self.lines.first_named(names)
            if not lines:
                # One value may list several users ("Anna,Ben"); a name with a comma in it
                # ("Müller, Anna") was tried whole first.
                parts = [p for name in names if "," in name for p in name.split(",")]
                lines = [line for part in parts for line in self.lines.named(part)]
            found += [line for line in lines if line not in found]
        if not found:
            own = push.called if direction is Direction.INCOMING else push.caller
            found = self.lines.numbered(own)
        return found

    def _begin(self, push: Push, known: TrackedCall | None, at: datetime) -> TrackedCall | None:
        direction = push.direction or (known.direction if known else None)
        if direction is None:
            return None
        remote = push.caller if direction is Direction.INCOMING else push.called
        legs = self._resolve(push, direction)
        call = known
        if call is None:
            call = TrackedCall(direction, remote, push.caller_name)
            original = self.calls.get(push.original_call_id) if push.original_call_id else None
            call.follows = push.original_call_id if original is not None else ""
            self.calls[push.call_id] = call
            while len(self.calls) > CAPACITY:
                self.calls.popitem(last=False)
        if direction is Direction.OUTGOING and call.dial_ref is None and legs:
            call.dial_ref = self._take_dial(push.call_id, legs, remote)
        call.remote_number = call.remote_number or remote
        added = [line_id for line_id in legs if line_id not in call.legs]
        call.legs += added
        for line_id in added:
            call.leg_direction[line_id] = direction
            call.leg_remote[line_id] = remote or call.remote_number
        if not call.ended:
            for line_id in call.legs:
                self._emit(push.call_id, call, line_id, self._first_state(call, line_id), at)
        else:
            # Named only by a push that came after the hang-up: the call is over there too.
            for line_id in added:
                self._emit(push.call_id, call, line_id, self._first_state(call, line_id), at)
                self._emit(push.call_id, call, line_id, CallState.ENDED, call.ended_at or at)
        return call

    @staticmethod
    def _direction(call: TrackedCall, line_id: int) -> Direction:
        return call.leg_direction.get(line_id, call.direction)

    def _first_state(self, call: TrackedCall, line_id: int) -> CallState:
        incoming = self._direction(call, line_id) is Direction.INCOMING
        return CallState.RINGING if incoming else CallState.DIALLING

    def _answering_lines(self, call: TrackedCall, push: Push) -> tuple[list[int], bool]:
        """The lines to connect, and whether someone without a line here answered.

        A dialled leg connects when anyone answers (the answering number is the far end's,
        never a line to connect). Of the ringing legs, the one of the user who answered does;
        one a push names nobody for, when it rang alone.
        """
        outgoing = [leg for leg in call.legs if self._direction(call, leg) is Direction.OUTGOING]
        incoming = [leg for leg in call.legs if leg not in outgoing]
        if not incoming:
            return outgoing, False
        picked: list[int] = []
        if push.answered_by:
            named = [leg for leg in self.lines.first_named(push.answered_by) if leg not in outgoing]
            # A colleague whose line did not ring may have picked the call up.
            picked = [leg for leg in named if leg in incoming] or named[:1]
        elif len(incoming) == 1:
            picked = incoming
        # Nobody here, or the push does not say which of several ringing lines answered.
        return picked + outgoing, not picked

    def _answer(self, call: TrackedCall, push: Push, at: datetime) -> str:
        if push.voicemail:
            call.voicemail = True
            return "answered by a mailbox: missed"
        lines, outside = self._answering_lines(call, push)
        call.answered_outside = call.answered_outside or outside
        if lines:
            self._connect(push.call_id, call, lines, at)
        if outside:
            return "answered by someone without a line here"
        if not lines:
            return "no line here is one of the users or numbers of this call"
        return f"connected on {len(lines)} line(s)"

    def _connect(self, call_id: str, call: TrackedCall, lines: list[int], at: datetime) -> None:
        if call.ended_at is not None and call.duration:
            at = call.ended_at - timedelta(seconds=call.duration)  # the answer came late
        for line_id in lines:
            if line_id not in call.legs:
                call.legs.append(line_id)
            call.connected.add(line_id)
            self._emit(call_id, call, line_id, CallState.CONNECTED, at)
        original = self.calls.get(call.follows) if call.follows else None
        if original is not None:
            for line_id in original.legs:
                if line_id not in original.connected and line_id not in call.connected:
                    self._emit(
                        call.follows,
                        original,
                        line_id,
                        CallState.ENDED,
                        at,
                        EndReason.ANSWERED_ELSEWHERE,
                    )

    def _hang_up(self, call: TrackedCall, push: Push, at: datetime) -> str:
        ending = self._ending(push.cause, call.direction)
        if call.ended:
            at = call.ended_at or at  # a repeat: it ended when first said
        call.ended_at, call.duration = at, call.duration or push.duration
        if ending.voicemail:
            call.voicemail = True
        since = at - timedelta(seconds=push.duration or 0)
        if ending.answered and not (call.connected or call.voicemail or call.answered_outside):
            lines, outside = self._answering_lines(call, push)
            call.answered_outside = outside
            if lines:
                self._connect(push.call_id, call, lines, since)
        elif push.duration and call.connected:
            # The provider measured the call: its length wins over when its pushes arrived
            # (the state machine keeps the earliest connect).
            for line_id in sorted(call.connected):
                self._emit(push.call_id, call, line_id, CallState.CONNECTED, since)
        for line_id in call.legs:
            direction = self._direction(call, line_id)
            reason = self._ending(push.cause, direction).reason
            if line_id in call.connected:
                reason = None  # answered: whatever the cause says, the core knows
            elif call.voicemail or ending.forwarded:
                reason = None  # missed (or, once the next call is answered, elsewhere)
            elif call.answered_outside and direction is Direction.INCOMING:
                reason = EndReason.ANSWERED_ELSEWHERE
            self._emit(push.call_id, call, line_id, CallState.ENDED, at, reason)
        call.ended = True
        return f"ended on {len(call.legs)} line(s)"

    def _emit(
        self,
        call_id: str,
        call: TrackedCall,
        line_id: int,
        state: CallState,
        at: datetime,
        reason: EndReason | None = None,
    ) -> None:
        self.context.emit(
            CallEvent(
                line_id=line_id,
                call_ref=call_id,
                direction=self._direction(call, line_id),
                state=state,
                at=at,
                remote_number=call.leg_remote.get(line_id, call.remote_number),
                remote_name=call.remote_name,
                end_reason=reason,
                dial_ref=call.dial_ref,
            )
        )
