"""Running lines: each line's driver, and the one ordered path from call events to the journal.

Drivers emit call events from the event loop; they queue up here and are recorded one at a time,
in order, each in its own transaction (in a worker thread, so the loop never waits on the
database). After each is stored, the changed journal entry is pushed to the line owner's browsers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.calls.recorder import (
    end_call,
    expire_ringing,
    identify,
    reconcile,
    record,
)
from offhook.drivers.contract import DialRequest, DriverError, LineDriver, LineState, NotSupported
from offhook.drivers.registry import available_drivers, driver_class
from offhook.journal import entries as journal
from offhook.journal.entry import CallChanged, JournalEntry, LineChanged, LineStatus
from offhook.journal.push import JournalHub
from offhook.numbers import NumberKind, dial_string, parse
from offhook.settings.telephony import SettingsCache, numbering_plan
from offhook.store import Store
from offhook.store.models import Call, Extension, Line

log = logging.getLogger(__name__)


class LineError(Exception):
    """A line cannot do what was asked; the message is meant for the user."""


@dataclass(frozen=True, slots=True)
class _Reconcile:
    line_id: int
    live_call_refs: frozenset[str]
    at: datetime
    reason: str


class LineRunner:
    """The `LineContext` of one running line."""

    def __init__(self, lines: Lines, line: Line, driver_cls: type[LineDriver]) -> None:
        self._lines = lines
        self._line_id = line.id
        self._address = line.address
        self.user_id = line.user_id
        self.driver_name = line.driver
        self._options: Mapping[str, Any] = driver_cls.Options.model_validate(
            line.options or {}
        ).model_dump()
        self.state = LineState.STOPPED
        self.reason = ""
        self.driver = driver_cls(self)

    @property
    def line_id(self) -> int:
        return self._line_id

    @property
    def line_address(self) -> str:
        return self._address

    @property
    def options(self) -> Mapping[str, Any]:
        return self._options

    def emit(self, event: CallEvent) -> None:
        if event.line_id != self._line_id:
            raise ValueError(f"line {self._line_id}'s driver emitted an event for another line")
        self._lines.queue.put_nowait(event)

    def set_status(self, state: LineState, reason: str = "") -> None:
        if (state, reason) == (self.state, self.reason):
            return
        self.state, self.reason = state, reason
        log.info("line %s is %s%s", self._line_id, state.value, f": {reason}" if reason else "")
        message = LineChanged(line=LineStatus.model_validate(self.status_json()))
        self._lines.notify(self.user_id, message.model_dump(mode="json"))

    def reconcile(
        self, live_call_refs: Collection[str], at: datetime | None = None, reason: str = ""
    ) -> None:
        self._lines.queue.put_nowait(
            _Reconcile(self._line_id, frozenset(live_call_refs), at or datetime.now(UTC), reason)
        )

    def status_json(self) -> dict[str, Any]:
        return {"id": self._line_id, "state": self.state.value, "reason": self.reason}


class Lines:
    """Every running line of this server."""

    def __init__(self, store: Store, hub: JournalHub, ring_timeout: float = 300.0) -> None:
        self.store = store
        self.hub = hub
        self.ring_timeout = ring_timeout
        self.queue: asyncio.Queue[CallEvent | _Reconcile] = asyncio.Queue()
        self.running: dict[int, LineRunner] = {}
        self.loaded: set[str] = set()  # extensions loaded in this server run
        self._tasks: list[asyncio.Task[None]] = []
        self._pending_notes: set[asyncio.Task[None]] = set()

    # --- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._record_events(), name="record-call-events"),
            asyncio.create_task(self._expire_ringing(), name="expire-ringing-calls"),
        ]
        auto = await asyncio.to_thread(self._auto_loaded)
        for name in auto:
            await self.load_extension(name)

    def _auto_loaded(self) -> list[str]:
        with self.store.session() as session:
            rows = session.scalars(
                select(Extension.name).where(
                    Extension.installed.is_(True), Extension.auto_load.is_(True)
                )
            )
            return [name for name in rows if name in available_drivers()]

    async def stop(self) -> None:
        for line_id in list(self.running):
            await self.stop_line(line_id)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout=5)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def load_extension(self, name: str) -> list[int]:
        """Start every enabled line of a driver; its lines get calls until the server stops."""
        driver_class(name)  # raises with a clear message when the driver is missing or broken
        self.loaded.add(name)
        line_ids = await asyncio.to_thread(self._line_ids, name)
        for line_id in line_ids:
            await self.start_line(line_id)
        return line_ids

    def _line_ids(self, driver: str) -> list[int]:
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(Line.id).where(Line.driver == driver, Line.enabled.is_(True))
                )
            )

    async def start_line(self, line_id: int) -> LineRunner:
        await self.stop_line(line_id)
        line = await asyncio.to_thread(self._load_line, line_id)
        if line is None:
            raise LineError(f"there is no line {line_id}")
        if line.driver not in self.loaded:
            raise LineError(
                f"the {line.driver!r} extension is not loaded: load it, or turn on Auto Load, "
                "in Settings > Interfaces > Extensions"
            )
        try:
            runner = LineRunner(self, line, driver_class(line.driver))
        except Exception as exc:
            raise LineError(f"line {line.title} cannot start: {exc}") from exc
        self.running[line_id] = runner
        runner.set_status(LineState.CONNECTING)
        try:
            await runner.driver.start()
        except Exception as exc:
            log.exception("line %s failed to start", line_id)
            runner.set_status(LineState.FAILED, str(exc) or type(exc).__name__)
        return runner

    def _load_line(self, line_id: int) -> Line | None:
        with self.store.session() as session:
            line = session.get(Line, line_id)
            if line is not None and not line.enabled:
                return None
            return line

    async def stop_line(self, line_id: int) -> None:
        runner = self.running.pop(line_id, None)
        if runner is None:
            return
        try:
            await runner.driver.stop()
        except Exception:
            log.exception("line %s did not stop cleanly", line_id)
        runner.set_status(LineState.STOPPED)

    def status(self, line_id: int) -> dict[str, Any]:
        runner = self.running.get(line_id)
        if runner is None:
            return {"id": line_id, "state": LineState.STOPPED.value, "reason": ""}
        return runner.status_json()

    # --- recording -----------------------------------------------------------------------------

    async def submit(self, event: CallEvent) -> None:
        """Queue an event as if the line's driver had emitted it."""
        self.queue.put_nowait(event)

    async def flush(self) -> None:
        """Wait until every queued event is recorded and pushed."""
        await self.queue.join()

    async def _record_events(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                await self._record_one(item)
            except Exception:
                log.exception("a call event could not be recorded: %r", item)
            finally:
                self.queue.task_done()

    async def _record_one(self, item: CallEvent | _Reconcile) -> None:
        delay = 0.2
        for _attempt in range(8):
            try:
                if isinstance(item, _Reconcile):
                    await self._reconcile(item)
                else:
                    user_id, data = await asyncio.to_thread(self._record_in_store, item)
                    await self._push_entry(user_id, data)
                return
            except OperationalError as exc:
                # The database is briefly away (restart, lock): keep the event, try again.
                log.warning("database unavailable, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        raise RuntimeError("database unavailable for too long")

    def _record_in_store(self, event: CallEvent) -> tuple[int, JournalEntry | None]:
        """Record the event and read the changed entry back in the same transaction."""
        with self.store.session() as session:
            change = record(session, event)
            return change.user_id, journal.one(session, change.call_id)

    async def _reconcile(self, item: _Reconcile) -> None:
        def work() -> tuple[int, list[int]]:
            with self.store.session() as session:
                line = session.get(Line, item.line_id)
                if line is None:
                    return 0, []
                return line.user_id, reconcile(
                    session, item.line_id, item.live_call_refs, item.at, item.reason
                )

        user_id, ended = await asyncio.to_thread(work)
        for call_id in ended:
            log.info("call %s ended by reconciliation with line %s", call_id, item.line_id)
            await self.publish_call(user_id, call_id)

    async def _expire_ringing(self) -> None:
        while True:
            await asyncio.sleep(min(15.0, max(self.ring_timeout / 4, 0.05)))
            try:
                await self.expire_ringing_now()
            except Exception:
                log.exception("could not end calls that rang for too long")

    async def expire_ringing_now(self) -> None:
        cutoff = datetime.now(UTC) - timedelta(seconds=self.ring_timeout)

        def work() -> list[tuple[int, int]]:
            with self.store.session() as session:
                stale = expire_ringing(session, cutoff)
                return [(call_id, self._owner(session, line_id)) for call_id, line_id in stale]

        for call_id, user_id in await asyncio.to_thread(work):
            await self.publish_call(user_id, call_id)

    @staticmethod
    def _owner(session: Any, line_id: int) -> int:
        line = session.get(Line, line_id)
        return line.user_id if line else 0

    # --- pushing -------------------------------------------------------------------------------

    async def publish_call(self, user_id: int, call_id: int) -> None:
        def load() -> JournalEntry | None:
            with self.store.session() as session:
                return journal.one(session, call_id)

        await self._push_entry(user_id, await asyncio.to_thread(load))

    async def _push_entry(self, user_id: int, entry: JournalEntry | None) -> None:
        if entry is not None:
            entry.line.status = LineStatus.model_validate(self.status(entry.line.id))
            await self.hub.publish(user_id, CallChanged(entry=entry).model_dump(mode="json"))

    def notify(self, user_id: int, message: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self.hub.publish(user_id, message))
        self._pending_notes.add(task)
        task.add_done_callback(self._pending_notes.discard)

    # --- actions from the journal ----------------------------------------------------------------

    def _runner_for(self, line_id: int) -> LineRunner:
        runner = self.running.get(line_id)
        if runner is None:
            raise LineError("this line is not running; an admin can start it in Settings > Lines")
        return runner

    async def dial(self, user_id: int, number: str, line_id: int | None = None) -> int:
        """Call `number` on one of the user's lines; the call shows as dialling at once."""
        line_id = await asyncio.to_thread(self._dialling_line, user_id, line_id)
        runner = self._runner_for(line_id)
        if not runner.driver.can_dial:
            raise LineError(f"{runner.driver.title} cannot place calls")
        dial_ref = uuid.uuid4().hex
        call_id, request = await asyncio.to_thread(self._begin_dial, line_id, number, dial_ref)
        await self.publish_call(runner.user_id, call_id)
        try:
            await runner.driver.dial(request)
        except (DriverError, OSError) as exc:
            await self.submit(
                CallEvent(
                    line_id=line_id,
                    call_ref=f"dial:{dial_ref}",
                    direction=Direction.OUTGOING,
                    state=CallState.ENDED,
                    end_reason=EndReason.FAILED,
                )
            )
            raise LineError(f"could not dial {number}: {exc}") from exc
        return call_id

    def _dialling_line(self, user_id: int, line_id: int | None) -> int:
        with self.store.session() as session:
            query = select(Line).where(Line.user_id == user_id, Line.enabled.is_(True))
            if line_id is not None:
                query = query.where(Line.id == line_id)
            lines = list(session.scalars(query.order_by(Line.id)))
        for line in lines:
            runner = self.running.get(line.id)
            if runner is not None and runner.driver.can_dial:
                return line.id
        if not lines and line_id is not None:
            raise LineError(f"line {line_id} is not one of your lines, or it is switched off")
        if not lines:
            raise LineError("you have no phone line; an admin can add one in Settings > Lines")
        return lines[0].id

    def _begin_dial(self, line_id: int, number: str, dial_ref: str) -> tuple[int, DialRequest]:
        with self.store.session() as session:
            settings = SettingsCache.get(session)
            plan = numbering_plan(settings)
            parsed = parse(number, plan)
            if parsed.kind not in (NumberKind.EXTERNAL, NumberKind.INTERNAL):
                raise LineError(parsed.error or f"{number!r} is not a number that can be dialled")
            dial = dial_string(parsed, plan)
            if not dial:
                raise LineError(f"{number!r} cannot be dialled")
            call = Call(
                line_id=line_id,
                call_ref=f"dial:{dial_ref}",
                dial_ref=dial_ref,
                direction=Direction.OUTGOING.value,
                state=CallState.DIALLING.value,
                remote_number=parsed.e164 or parsed.extension or number,
                started_at=datetime.now(UTC),
            )
            identify(session, call)
            session.add(call)
            session.flush()
            shown = parsed.e164 or parsed.extension or number
            return call.id, DialRequest(dial_ref=dial_ref, number=shown, dial_string=dial)

    async def answer(self, call: Call) -> None:
        await self._act(call, "answer")

    async def hangup(self, call: Call) -> None:
        await self._act(call, "hang up")

    async def _act(self, call: Call, action: Literal["answer", "hang up"]) -> None:
        driver = self._runner_for(call.line_id).driver
        act = driver.answer if action == "answer" else driver.hangup
        try:
            await act(call.call_ref)
        except NotSupported as exc:
            raise LineError(str(exc)) from exc
        except DriverError as exc:
            raise LineError(f"could not {action}: {exc}") from exc

    async def end_unreachable(self, user_id: int, call_id: int) -> None:
        """Close a call by hand when its line cannot tell (driver stopped, phone system gone)."""

        def work() -> None:
            with self.store.session() as session:
                call = journal.user_call(session, user_id, call_id)
                if call is None:
                    raise LineError("no such call")
                end_call(call, datetime.now(UTC), "marked as ended by the user")

        await asyncio.to_thread(work)
        await self.publish_call(user_id, call_id)
