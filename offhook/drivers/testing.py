"""Testing a driver without a server: a `PhoneSystemContext` that records what the driver says.

    context = RecordingContext(options={"port": 5038}, lines={1: "201", 2: "202"})
    driver = MyDriver(context)
    await driver.start()
    call = await context.wait_for_call(CallState.RINGING, line_id=1)

Like the core, it keeps a view of each call per line (calls only move forward; reconciliation
ends the calls it is not told about), so a test waits on what a user would see. It waits on
conditions with a timeout, never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from offhook.calls.events import CallEvent, CallState
from offhook.drivers.contract import LineInfo, LineState

T = TypeVar("T")


@dataclass
class CallView:
    """One call on one line as the core would hold it after the events so far."""

    line_id: int
    call_ref: str
    state: CallState
    remote_number: str
    remote_name: str
    events: list[CallEvent] = field(default_factory=list)
    ended_by_reconcile: bool = False


class RecordingContext:
    """A `PhoneSystemContext` for tests. `lines` maps line ids to their addresses."""

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        lines: Mapping[int, str] | None = None,
        system_id: int = 1,
    ) -> None:
        self.options: Mapping[str, Any] = dict(options or {})
        self.lines_by_id = dict(lines if lines is not None else {1: "201"})
        self.system_id = system_id
        self.events: list[CallEvent] = []
        self.statuses: list[tuple[LineState, str, int | None]] = []
        self.reconciliations: list[tuple[set[str], int | None]] = []
        self.calls: dict[tuple[int, str], CallView] = {}
        self._changed = asyncio.Event()

    # --- PhoneSystemContext ----------------------------------------------------------------------

    @property
    def lines(self) -> Mapping[int, LineInfo]:
        return {
            line_id: LineInfo(id=line_id, address=address, user_id=line_id)
            for line_id, address in self.lines_by_id.items()
        }

    def line_for(self, address: str) -> LineInfo | None:
        return next((i for i in self.lines.values() if i.address == address.strip()), None)

    def emit(self, event: CallEvent) -> None:
        if event.line_id not in self.lines_by_id:
            raise AssertionError(f"event for line {event.line_id}, not a line of this system")
        self.events.append(event)
        key = (event.line_id, event.call_ref)
        view = self.calls.get(key)
        if view is None:
            view = self.calls[key] = CallView(
                event.line_id, event.call_ref, event.state, event.remote_number, event.remote_name
            )
        elif event.state.rank > view.state.rank:
            view.state = event.state
        view.events.append(event)
        self._changed.set()

    def set_status(self, state: LineState, reason: str = "", line_id: int | None = None) -> None:
        self.statuses.append((state, reason, line_id))
        self._changed.set()

    def reconcile(
        self,
        live_call_refs: Collection[str],
        at: datetime | None = None,
        reason: str = "",
        line_id: int | None = None,
    ) -> None:
        live = set(live_call_refs)
        self.reconciliations.append((live, line_id))
        for view in self.calls.values():
            on_line = line_id is None or view.line_id == line_id
            if on_line and view.state is not CallState.ENDED and view.call_ref not in live:
                view.state = CallState.ENDED
                view.ended_by_reconcile = True
        self._changed.set()

    # --- for tests -------------------------------------------------------------------------------

    @property
    def state(self) -> LineState | None:
        """The phone system's latest state."""
        whole = [state for state, _reason, line_id in self.statuses if line_id is None]
        return whole[-1] if whole else None

    async def wait_for(
        self, condition: Callable[[], T | None], what: str, timeout: float = 10.0
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

    async def wait_for_call(
        self, state: CallState, line_id: int | None = None, timeout: float = 10.0
    ) -> CallView:
        """The first call (on `line_id`, if given) that has reached `state`."""

        def found() -> CallView | None:
            return next(
                (
                    view
                    for view in self.calls.values()
                    if view.state is state and (line_id is None or view.line_id == line_id)
                ),
                None,
            )

        where = f" on line {line_id}" if line_id is not None else ""
        return await self.wait_for(found, f"a {state.value} call{where}", timeout)
