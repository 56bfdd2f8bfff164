"""The `simulator` line driver: a made-up phone line for trying offhook out and for tests.

It behaves like a phone: calls come in (from the CLI, the HTTP API or the demo's "Simulate call"
control, or by themselves every now and then), ring, get answered, rejected or missed; calls
dialled from the journal ring at the other end and are answered after a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide
from offhook.drivers.contract import DialRequest, DriverError, LineContext, LineDriver, LineState

log = logging.getLogger(__name__)

Outcome = Literal["answered", "missed", "rejected", "busy", "ringing"]


@dataclass(slots=True)
class SimulatedCall:
    ref: str
    direction: Direction
    state: CallState
    number: str
    name: str = ""
    dial_ref: str | None = None


class SimulatorDriver(LineDriver):
    name: ClassVar[str] = "simulator"
    title: ClassVar[str] = "Simulated line"
    description: ClassVar[str] = (
        "A made-up phone line: calls come in on demand or now and then, and dialled calls are "
        "answered after a moment. For trying offhook out, demos and tests."
    )
    can_dial: ClassVar[bool] = True
    can_answer: ClassVar[bool] = True
    can_hangup: ClassVar[bool] = True

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        answer_after: float = Field(
            3.0, ge=0, le=600, description="Seconds until a dialled number answers"
        )
        busy_numbers: list[str] = Field(
            default_factory=list, description="Dial strings that answer busy"
        )
        call_every: float = Field(
            0,
            ge=0,
            le=86400,
            description="Seconds between calls that come in by themselves; 0: off",
        )
        callers: list[str] = Field(
            default_factory=list, description="Numbers the calls that come by themselves are from"
        )

    def __init__(self, context: LineContext) -> None:
        super().__init__(context)
        self.options = self.Options.model_validate(dict(context.options))
        self.calls: dict[str, SimulatedCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._counter = itertools.count(1)

    # --- LineDriver ----------------------------------------------------------------------------

    async def start(self) -> None:
        self.context.set_status(LineState.CONNECTED)
        if self.options.call_every > 0 and self.options.callers:
            self._spawn(self._calls_by_themselves())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def dial(self, request: DialRequest) -> None:
        ref = f"sim-out-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
        call = SimulatedCall(
            ref, Direction.OUTGOING, CallState.DIALLING, request.number, dial_ref=request.dial_ref
        )
        self.calls[ref] = call
        self._emit(call, CallState.DIALLING)
        self._spawn(self._far_end_answers(call, request.dial_string))

    async def answer(self, call_ref: str) -> None:
        call = self._call(call_ref)
        if call.state is not CallState.RINGING:
            raise DriverError("only a ringing call can be answered")
        self.connect(call_ref)

    async def hangup(self, call_ref: str) -> None:
        call = self._call(call_ref)
        if call.state is CallState.RINGING:
            self.end(call_ref, EndReason.REJECTED, HangupSide.LOCAL)
        elif call.state is CallState.DIALLING:
            self.end(call_ref, EndReason.CANCELLED, HangupSide.LOCAL)
        else:
            self.end(call_ref, None, HangupSide.LOCAL)

    # --- the far end -----------------------------------------------------------------------------

    def ring(self, number: str, name: str = "", ref: str | None = None) -> str:
        """A call comes in; returns its reference."""
        ref = ref or f"sim-in-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
        call = SimulatedCall(ref, Direction.INCOMING, CallState.RINGING, number, name)
        self.calls[ref] = call
        self._emit(call, CallState.RINGING)
        return ref

    def connect(self, call_ref: str) -> None:
        call = self._call(call_ref)
        call.state = CallState.CONNECTED
        self._emit(call, CallState.CONNECTED)

    def end(
        self, call_ref: str, reason: EndReason | None = None, by: HangupSide | None = None
    ) -> None:
        call = self._call(call_ref)
        call.state = CallState.ENDED
        self._emit(call, CallState.ENDED, reason=reason, by=by)
        self.calls.pop(call_ref, None)

    def play(
        self,
        number: str,
        name: str = "",
        outcome: Outcome = "answered",
        ring_seconds: float = 4.0,
        talk_seconds: float = 30.0,
    ) -> str:
        """A whole incoming call, played out in the background; returns its reference."""
        ref = self.ring(number, name)
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
            number = rng.choice(self.options.callers)
            outcome: Outcome = rng.choice(["answered", "answered", "answered", "missed"])
            self.play(
                number,
                outcome=outcome,
                ring_seconds=rng.uniform(3, 8),
                talk_seconds=rng.uniform(20, 240),
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
        state: CallState,
        reason: EndReason | None = None,
        by: HangupSide | None = None,
    ) -> None:
        self.context.emit(
            CallEvent(
                line_id=self.context.line_id,
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

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
