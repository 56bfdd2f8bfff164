"""Testing a driver without a server: a `PhoneSystemContext` that records what the driver says.

    context = RecordingContext(options={"port": 5038}, lines={1: "201", 2: "202"})
    driver = MyDriver(context)
    await driver.start()
    await context.connected()
    call = await context.call(CallState.RINGING, line_id=1, number="446681812")

Like the core, it keeps a view of each call (`calls`, by the driver's call reference) and of
its leg on each line it rings on: states only move forward, and reconciliation ends the calls
it is not told about. Tests wait on that view with a timeout, never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from offhook.calls.events import CallEvent, CallState, Direction
from offhook.drivers.contract import LineInfo, LineState

T = TypeVar("T")

#: How long `wait_for` and its friends wait by default: generous, for real peers on a busy
#: machine; a test that passes never waits this long.
TIMEOUT = 15.0


@dataclass
class CallView:
    """One call as the core would hold it after the events so far."""

    call_ref: str
    direction: Direction
    remote_number: str
    remote_name: str
    dial_ref: str | None
    #: The latest event that moved the call forward.
    last: CallEvent
    #: Its state on each line it is on (a ring group rings several).
    legs: dict[int, CallState] = field(default_factory=dict)
    ended_by_reconcile: bool = False

    @property
    def state(self) -> CallState:
        """The call's state as a whole: the furthest any leg got, ended once all legs are."""
        states = set(self.legs.values())
        if states == {CallState.ENDED}:
            return CallState.ENDED
        return max(states - {CallState.ENDED}, key=lambda s: s.rank, default=CallState.ENDED)


class RecordingContext:
    """A `PhoneSystemContext` for tests. `lines` maps line ids to their addresses."""

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        lines: Mapping[int, str] | None = None,
        system_id: int = 1,
        line_options: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> None:
        self.options: Mapping[str, Any] = dict(options or {})
        self.addresses: dict[int, str] = dict(lines if lines is not None else {1: "201"})
        #: Each line's options (its driver's `LineOptions`), by line id.
        self.line_options: dict[int, Mapping[str, Any]] = dict(line_options or {})
        self.system_id = system_id
        self.events: list[CallEvent] = []
        #: The phone system's states, with the reason.
        self.statuses: list[tuple[LineState, str]] = []
        #: States a driver reported for single lines.
        self.line_statuses: dict[int, list[tuple[LineState, str]]] = {}
        #: The live calls named at each reconciliation, when, and for which line (None: all).
        self.reconciliations: list[set[str]] = []
        self.reconciled_at: list[datetime | None] = []
        self.reconciled_lines: list[int | None] = []
        self.calls: dict[str, CallView] = {}
        #: Why tasks started with `spawn` died, oldest first. The core would show the phone
        #: system failed and restart the driver; here a test sees it, and is told.
        self.crashes: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    # --- PhoneSystemContext ----------------------------------------------------------------------

    @property
    def lines(self) -> Mapping[int, LineInfo]:
        return {
            line_id: LineInfo(
                id=line_id,
                address=address,
                user_id=line_id,
                options=dict(self.line_options.get(line_id, {})),
            )
            for line_id, address in self.addresses.items()
        }

    def line_for(self, address: str) -> LineInfo | None:
        return next((i for i in self.lines.values() if i.address == address.strip()), None)

    def emit(self, event: CallEvent) -> None:
        if event.line_id not in self.addresses:
            raise AssertionError(f"event for line {event.line_id}, not a line of this system")
        self.events.append(event)
        view = self.calls.get(event.call_ref)
        if view is None:
            view = self.calls[event.call_ref] = CallView(
                event.call_ref,
                event.direction,
                event.remote_number,
                event.remote_name,
                event.dial_ref,
                event,
            )
        before = view.legs.get(event.line_id)
        if before is None or event.state.rank > before.rank:
            view.legs[event.line_id] = event.state
            view.last = event
        view.dial_ref = view.dial_ref or event.dial_ref
        if event.party_changed and event.remote_number:
            view.remote_number, view.remote_name = event.remote_number, event.remote_name
        view.remote_number = view.remote_number or event.remote_number
        view.remote_name = view.remote_name or event.remote_name
        self._changed.set()

    def set_status(self, state: LineState, reason: str = "", line_id: int | None = None) -> None:
        if line_id is None:
            self.statuses.append((state, reason))
        else:
            self.line_statuses.setdefault(line_id, []).append((state, reason))
        self._changed.set()

    def reconcile(
        self,
        live_call_refs: Collection[str],
        at: datetime | None = None,
        reason: str = "",
        line_id: int | None = None,
    ) -> None:
        live = set(live_call_refs)
        self.reconciliations.append(live)
        self.reconciled_at.append(at)
        self.reconciled_lines.append(line_id)
        for view in self.calls.values():
            if view.call_ref in live:
                continue
            for leg, state in view.legs.items():
                if (line_id is None or leg == line_id) and state is not CallState.ENDED:
                    view.legs[leg] = CallState.ENDED
                    view.ended_by_reconcile = True
        self._changed.set()

    async def stored(self) -> bool:
        return True  # `emit` keeps each event at once

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or (exc := task.exception()) is None:
            return
        reason = f"{task.get_name()} died ({type(exc).__name__}: {exc})"
        self.crashes.append(reason)
        self.set_status(LineState.FAILED, reason)

    # --- for tests -------------------------------------------------------------------------------

    @property
    def state(self) -> LineState | None:
        """The phone system's latest state."""
        return self.statuses[-1][0] if self.statuses else None

    async def wait_for(
        self, condition: Callable[[], T | None], what: str, timeout: float = TIMEOUT
    ) -> T:
        """Wait until `condition()` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"gave up waiting for {what}; events: {self.events}; statuses: {self.statuses}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))
        return result

    async def call(
        self,
        state: CallState,
        *,
        line_id: int | None = None,
        direction: Direction | None = None,
        number: str | None = None,
        dial_ref: str | None = None,
        timeout: float = TIMEOUT,
    ) -> CallView:
        """Wait for a call that is or was in `state` (on `line_id`, if given; `number`: part of
        its remote number). "Was": a short call may ring and end before the test looks."""

        def been(view: CallView) -> bool:
            return any(
                event.call_ref == view.call_ref
                and event.state is state
                and (line_id is None or event.line_id == line_id)
                for event in self.events
            )

        def find() -> CallView | None:
            for view in self.calls.values():
                now = view.legs.get(line_id) if line_id is not None else view.state
                if (
                    (now is state or been(view))
                    and (direction is None or view.direction is direction)
                    and (number is None or number in view.remote_number)
                    and (dial_ref is None or view.dial_ref == dial_ref)
                ):
                    return view
            return None

        where = f" on line {line_id}" if line_id is not None else ""
        wanted = f"a {state.value} call{where}" + (f" with {number}" if number else "")
        return await self.wait_for(find, wanted, timeout)

    async def connected(self, timeout: float = TIMEOUT) -> None:
        """Wait until the phone system reports itself connected."""
        await self.wait_for(
            lambda: self.state is LineState.CONNECTED, "the phone system connected", timeout
        )

    def open_calls(self) -> list[CallView]:
        return [view for view in self.calls.values() if view.state is not CallState.ENDED]
