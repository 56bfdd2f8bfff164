"""The `simulator` driver: a made-up phone system for trying offhook out and for tests.

It behaves like a small PBX: each line is an extension, a ring group rings several at once.
Calls come in (from the CLI, the HTTP API or the demo's "Simulate call" control, or by
themselves every now and then), ring, get answered, rejected or missed; calls dialled from the
journal ring at the other end and are answered after a few seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide
from offhook.drivers.contract import (
    DialRequest,
    Driver,
    DriverError,
    LineState,
    PhoneSystemContext,
)
from offhook.settings.language import N_

log = logging.getLogger(__name__)

Outcome = Literal["answered", "missed", "rejected", "busy", "ringing"]


@dataclass(slots=True)
class SimulatedCall:
    """One call on the simulated phone system; it may ring on several lines (a ring group)."""

    ref: str
    direction: Direction
    number: str
    name: str = ""
    dial_ref: str | None = None
    #: Each line the call is on, and its state there.
    legs: dict[int, CallState] = field(default_factory=dict)

    @property
    def state(self) -> CallState:
        """The call's state as the far end sees it: connected once any leg is."""
        states = set(self.legs.values())
        for state in (CallState.CONNECTED, CallState.RINGING, CallState.DIALLING):
            if state in states:
                return state
        return CallState.ENDED


class SimulatorDriver(Driver):
    name: ClassVar[str] = "simulator"
    title: ClassVar[str] = N_("Simulated phone system")
    description: ClassVar[str] = N_(
        "A made-up phone system with extensions and ring groups: calls come in on demand or now "
        "and then, and dialled calls are answered after a moment. For trying offhook out, demos "
        "and tests."
    )
    can_dial: ClassVar[bool] = True
    can_answer: ClassVar[bool] = True
    can_hangup: ClassVar[bool] = True
    line_address_label: ClassVar[str] = N_("Extension")
    line_address_example: ClassVar[str] = "201"
    static_dir: ClassVar[Path | None] = Path(__file__).with_name("static")
    page_scripts: ClassVar[tuple[str, ...]] = ("simulator.js",)
    page_styles: ClassVar[tuple[str, ...]] = ("simulator.css",)
    page_texts: ClassVar[tuple[str, ...]] = (
        N_("Caller"),
        N_("What happens"),
        N_("rings until you answer"),
        N_("is answered for a minute"),
        N_("is missed"),
        N_("Where it rings"),
        N_("on your line"),
        N_("in the team's ring group (600)"),
        N_("Simulate a call"),
        N_("Demo"),
        N_("Simulate a call from"),
        N_("that"),
        N_("Simulate call"),
        N_("The server answered {status}."),
    )
    routes: ClassVar[str | None] = "offhook.drivers.simulator.web:router"
    commands: ClassVar[str | None] = "offhook.drivers.simulator.cli:app"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        answer_after: float = Field(
            3.0,
            ge=0,
            le=600,
            description=N_("Seconds until a dialled number answers"),
            title=N_("Answer after"),
        )
        busy_numbers: list[str] = Field(
            title=N_("Busy numbers"),
            default_factory=list,
            description=N_("Dial strings that answer busy"),
        )
        call_every: float = Field(
            0,
            title=N_("Call every"),
            ge=0,
            le=86400,
            description=N_("Seconds between calls that come in by themselves; 0: off"),
        )
        callers: list[str] = Field(
            title=N_("Callers"),
            default_factory=list,
            description=N_("Numbers the calls that come by themselves are from"),
        )
        ring_seconds: float = Field(
            0,
            title=N_("Ring seconds"),
            ge=0,
            le=600,
            description=N_("How long calls that come by themselves ring; 0: 3 to 8 s at random"),
        )
        talk_seconds: float = Field(
            0,
            title=N_("Talk seconds"),
            ge=0,
            le=86400,
            description=N_("How long those answered last; 0: 20 to 240 s at random"),
        )
        ring_groups: dict[str, list[str]] = Field(
            title=N_("Ring groups"),
            default_factory=dict,
            description=N_(
                'Ring groups: a number and the extensions it rings, e.g. {"600": ["201", "202"]}'
            ),
        )
        calls_to: str = Field(
            "",
            title=N_("Calls to"),
            max_length=40,
            description=N_(
                "Where calls that come by themselves ring: an extension or a ring group; "
                "empty: any line"
            ),
        )

        @field_validator("ring_groups")
        @classmethod
        def _groups(cls, groups: dict[str, list[str]]) -> dict[str, list[str]]:
            for number, members in groups.items():
                if not number.strip() or not members:
                    raise ValueError("a ring group needs a number and at least one extension")
            return groups

    def __init__(self, context: PhoneSystemContext) -> None:
        super().__init__(context)
        self.options = self.Options.model_validate(dict(context.options))
        self.calls: dict[str, SimulatedCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._counter = itertools.count(1)

    # --- Driver ----------------------------------------------------------------------------------

    async def start(self) -> None:
        self.context.set_status(LineState.CONNECTED)
        # The simulated phone system keeps no calls across a restart of the server or of the
        # driver: whatever the store still holds as ringing or connected is over.
        self.context.reconcile([], reason="the simulated phone system restarted")
        if self.options.call_every > 0 and self.options.callers:
            self._spawn(self._calls_by_themselves(), "calls by themselves")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            # `wait`, not `await`: a task that died of an error must not stop the others'.
            await asyncio.wait(list(self._tasks))
        self._tasks.clear()

    async def lines_changed(self) -> None:
        # Calls go on; a line that is gone simply has no more legs to report.
        for call in self.calls.values():
            for line_id in [i for i in call.legs if i not in self.context.lines]:
                del call.legs[line_id]

    async def dial(self, line_id: int, request: DialRequest) -> None:
        ref = f"sim-out-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
        call = SimulatedCall(ref, Direction.OUTGOING, request.number, dial_ref=request.dial_ref)
        call.legs[line_id] = CallState.DIALLING
        self.calls[ref] = call
        self._emit(call, line_id, CallState.DIALLING)
        self._spawn(self._far_end_answers(call, request.dial_string))

    async def answer(self, line_id: int, call_ref: str) -> None:
        call = self._call(call_ref)
        if call.legs.get(line_id) is not CallState.RINGING:
            raise DriverError("only a ringing call can be answered")
        self.connect(call_ref, line_id)

    async def hangup(self, line_id: int, call_ref: str) -> None:
        call = self._call(call_ref)
        state = call.legs.get(line_id)
        if state is CallState.RINGING:
            self._end_leg(call, line_id, EndReason.REJECTED, HangupSide.LOCAL)
        elif state is CallState.DIALLING:
            self._end_leg(call, line_id, EndReason.CANCELLED, HangupSide.LOCAL)
        elif state is CallState.CONNECTED:
            self._end_leg(call, line_id, None, HangupSide.LOCAL)
        else:
            raise DriverError("this call is no longer on your line")

    # --- where calls ring ------------------------------------------------------------------------

    def lines_for(self, to: str | None) -> list[int]:
        """The lines a number rings: an extension's line, a ring group's lines; with no number,
        the first line."""
        if not to:
            return sorted(self.context.lines)[:1]
        members = self.options.ring_groups.get(to.strip(), [to.strip()])
        found = [self.context.line_for(member) for member in members]
        return [info.id for info in found if info is not None]

    # --- the far end -----------------------------------------------------------------------------

    def ring(
        self, number: str, name: str = "", lines: list[int] | None = None, ref: str | None = None
    ) -> str:
        """A call comes in and rings on `lines` (default: the first line); returns its
        reference."""
        targets = lines if lines is not None else self.lines_for(None)
        if not targets:
            raise DriverError("that number rings no line of the simulated phone system")
        ref = ref or f"sim-in-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
        call = SimulatedCall(ref, Direction.INCOMING, number, name)
        call.legs = dict.fromkeys(targets, CallState.RINGING)
        self.calls[ref] = call
        for line_id in targets:
            self._emit(call, line_id, CallState.RINGING)
        return ref

    def connect(self, call_ref: str, line_id: int | None = None) -> None:
        """The call is answered: on `line_id`, or where it rings first. A call that rang on
        several lines stops ringing on the others; the core shows it there as answered
        elsewhere."""
        call = self._call(call_ref)
        waiting = [i for i, s in call.legs.items() if s in (CallState.RINGING, CallState.DIALLING)]
        line_id = line_id if line_id is not None else (waiting[0] if waiting else None)
        if line_id is None or line_id not in call.legs:
            raise DriverError("this call is not waiting to be answered")
        call.legs = {line_id: CallState.CONNECTED}
        self._emit(call, line_id, CallState.CONNECTED)

    def end(
        self, call_ref: str, reason: EndReason | None = None, by: HangupSide | None = None
    ) -> None:
        """The far end (or the phone system) ends the call on every line it is on."""
        call = self._call(call_ref)
        for line_id in list(call.legs):
            self._end_leg(call, line_id, reason, by)

    def _end_leg(
        self,
        call: SimulatedCall,
        line_id: int,
        reason: EndReason | None,
        by: HangupSide | None,
    ) -> None:
        call.legs.pop(line_id, None)
        self._emit(call, line_id, CallState.ENDED, reason=reason, by=by)
        if not call.legs:
            self.calls.pop(call.ref, None)

    def play(
        self,
        number: str,
        name: str = "",
        outcome: Outcome = "answered",
        ring_seconds: float = 4.0,
        talk_seconds: float = 30.0,
        lines: list[int] | None = None,
    ) -> str:
        """A whole incoming call, played out in the background; returns its reference."""
        ref = self.ring(number, name, lines)
        self._spawn(self._play(ref, outcome, ring_seconds, talk_seconds))
        return ref

    async def _play(self, ref: str, outcome: Outcome, ring: float, talk: float) -> None:
        await asyncio.sleep(ring)
        if ref not in self.calls or self.calls[ref].state is not CallState.RINGING:
            return  # the user answered or rejected it meanwhile; they are in charge now
        if outcome == "ringing":
            return
        if outcome == "missed":
            self.end(ref, EndReason.MISSED, HangupSide.REMOTE)
        elif outcome == "rejected":
            self.end(ref, EndReason.REJECTED, HangupSide.LOCAL)
        elif outcome == "busy":
            self.end(ref, EndReason.BUSY, HangupSide.REMOTE)
        else:
            self.connect(ref)
            await asyncio.sleep(talk)
            if ref in self.calls:
                self.end(ref, None, HangupSide.REMOTE)

    async def _far_end_answers(self, call: SimulatedCall, dial_string: str) -> None:
        await asyncio.sleep(min(self.options.answer_after, 1.0))
        if call.ref not in self.calls:
            return
        if dial_string in self.options.busy_numbers:
            self.end(call.ref, EndReason.BUSY, HangupSide.REMOTE)
            return
        await asyncio.sleep(max(0.0, self.options.answer_after - 1.0))
        if call.ref in self.calls and call.state is CallState.DIALLING:
            self.connect(call.ref)

    async def _calls_by_themselves(self) -> None:
        rng = random.Random()
        while True:
            await asyncio.sleep(self.options.call_every * rng.uniform(0.6, 1.4))
            if self.options.calls_to:
                lines = self.lines_for(self.options.calls_to)
            else:
                lines = [rng.choice(sorted(self.context.lines))] if self.context.lines else []
            if not lines:
                continue
            outcome: Outcome = rng.choice(["answered", "answered", "answered", "missed"])
            self.play(
                rng.choice(self.options.callers),
                outcome=outcome,
                ring_seconds=self.options.ring_seconds or rng.uniform(3, 8),
                talk_seconds=self.options.talk_seconds or rng.uniform(20, 240),
                lines=lines,
            )

    # --- plumbing -------------------------------------------------------------------------------

    def _call(self, call_ref: str) -> SimulatedCall:
        call = self.calls.get(call_ref)
        if call is None:
            dial_match = [c for c in self.calls.values() if f"dial:{c.dial_ref}" == call_ref]
            if not dial_match:
                raise DriverError("this call is no longer on the line")
            call = dial_match[0]
        return call

    def _emit(
        self,
        call: SimulatedCall,
        line_id: int,
        state: CallState,
        reason: EndReason | None = None,
        by: HangupSide | None = None,
    ) -> None:
        if line_id not in self.context.lines:
            return  # the line was removed while the call was on it
        self.context.emit(
            CallEvent(
                line_id=line_id,
                call_ref=call.ref,
                direction=call.direction,
                state=state,
                at=datetime.now(UTC),
                remote_number=call.number,
                remote_name=call.name,
                end_reason=reason,
                hangup_by=by,
                dial_ref=call.dial_ref,
            )
        )

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str = "simulated call") -> None:
        task = self.context.spawn(coro, f"simulator: {name}")  # supervised by the core
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
