"""Running phone systems: each one's driver serving its lines, and the one ordered path from
call events to the journal.

Drivers emit call events from the event loop; they queue up here and are recorded in order, in
batches: whatever queued up while the previous batch was written goes into one transaction (in
a worker thread, so the loop never waits on the database). One commit per batch instead of one
per event is what lets one server keep up with a call centre: the database's round trips and
its flush to disk are paid once for many events. Each event still sees the ones before it, so
the order per call holds; recording is idempotent (the state machine ignores what it already
knows), so a batch that failed is simply recorded again. Only after the batch is stored are its
changed journal entries, each read once, pushed to the line owners' browsers together: the
calls', and those of the same calls on other lines that they changed (a ring group answered
here is answered elsewhere there).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from offhook.calls.events import (
    DIGEST_PREFIX,
    CallEvent,
    CallState,
    Direction,
    EndReason,
)
from offhook.calls.recorder import (
    RECONCILE_CHUNK,
    driver_ref,
    end_call,
    expire_connected,
    expire_ringing,
    identify,
    reconcile_lines,
    record_many,
)
from offhook.drivers.contract import (
    DialRequest,
    Driver,
    DriverError,
    LineInfo,
    LineState,
    NotSupported,
)
from offhook.drivers.registry import available_drivers, driver_class
from offhook.journal import entries as journal
from offhook.journal.entry import CallChanged, JournalEntry, LineChanged, LineStatus
from offhook.journal.push import JournalHub
from offhook.lines.leases import POLL_SECONDS, Leases
from offhook.lines.reasons import restarting
from offhook.lines.relay import ActionRelay, FarEnd, RelayError, Tunnel
from offhook.numbers import NumberKind, dial_string, parse
from offhook.settings.telephony import SettingsCache, numbering_plan
from offhook.store import Store
from offhook.store.models import Call, InstalledDriver, Line, PhoneSystem, Setting

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A crashed driver is restarted after this many seconds, doubling with each crash in a row up
#: to `RESTART_MAX`; a driver that ran `RESTART_STABLE` seconds before crashing starts over.
RESTART_FIRST = 1.0
RESTART_MAX = 60.0
RESTART_STABLE = 60.0
#: The setting where a server notes that its lines are watched (every few seconds).
ALIVE_SETTING = "lines_alive_at"
#: Most call events recorded in one transaction: a burst is carried in a few commits, and one
#: transaction stays short (SQLite holds its write lock for it).
BATCH_MAX = 250
#: Call events waiting to be recorded beyond which `Lines.submit` waits for the recorder, and a
#: driver's `emit` is logged as outrunning the database.
BACKLOG_LIMIT = 20_000
#: The longest pause between two tries to record call events while the database is away.
RECORD_RETRY_MAX = 10.0


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


class LineError(Exception):
    """A line cannot do what was asked; the message is meant for the user."""


@dataclass(frozen=True, slots=True)
class _Reconcile:
    line_ids: tuple[int, ...]
    live_call_refs: frozenset[str]
    at: datetime
    reason: str


@dataclass(slots=True)
class _Waiter:
    """Someone waiting until the queue is stored up to `until` (see `Lines.stored`)."""

    until: int
    done: asyncio.Future[bool]
    failed: bool = False


def _signature(line: Line) -> tuple[Any, ...]:
    """What a running line is made of, to see a change made by another server."""
    return (line.id, line.address, line.user_id, line.label, repr(line.options or {}))


def _can_dial(driver: str) -> bool:
    try:
        return driver_class(driver).can_dial
    except Exception:
        return False


class SystemRunner:
    """The `PhoneSystemContext` of one running phone system."""

    def __init__(
        self, lines: Lines, system: PhoneSystem, driver_cls: type[Driver], rows: list[Line]
    ) -> None:
        self._lines = lines
        self._system_id = system.id
        self.name = system.name
        self.driver_name = system.driver
        self._options: Mapping[str, Any] = driver_cls.Options.model_validate(
            system.options or {}
        ).model_dump()
        #: As stored, and the stored lines: another server's change shows as a difference.
        self.raw_options = dict(system.options or {})
        self.signature: frozenset[tuple[Any, ...]] = frozenset()
        self._line_infos: dict[int, LineInfo] = {}
        self._by_address: dict[str, LineInfo] = {}
        self.set_lines(driver_cls, rows)
        self.state = LineState.STOPPED
        self.reason = ""
        # A line's own state, where the driver reported one (its phone is unregistered …).
        self._line_states: dict[int, tuple[LineState, str]] = {}
        self.driver_cls = driver_cls
        self.driver = driver_cls(self)
        #: The driver's tasks started through `spawn`, still running.
        self._supervised: set[asyncio.Task[None]] = set()
        self._connections: set[asyncio.Task[None]] = set()
        self._restart: asyncio.Task[None] | None = None
        self._crashes = 0  # in a row, for the back-off
        self._started_at = 0.0

    def set_lines(self, driver_cls: type[Driver], rows: list[Line]) -> None:
        self._line_infos = {
            line.id: LineInfo(
                id=line.id,
                address=line.address,
                user_id=line.user_id,
                label=line.label,
                options=driver_cls.LineOptions.model_validate(line.options or {}).model_dump(),
            )
            for line in rows
        }
        # A PBX driver asks for the line of an extension on every event it sees.
        self._by_address = {info.address: info for info in self._line_infos.values()}
        self.signature = frozenset(_signature(line) for line in rows)

    # --- PhoneSystemContext --------------------------------------------------------------------

    @property
    def system_id(self) -> int:
        return self._system_id

    @property
    def options(self) -> Mapping[str, Any]:
        return self._options

    @property
    def lines(self) -> Mapping[int, LineInfo]:
        return self._line_infos

    def line_for(self, address: str) -> LineInfo | None:
        return self._by_address.get(address.strip())

    def emit(self, event: CallEvent) -> None:
        if event.line_id not in self._line_infos:
            # A line just removed from the phone system (its calls were ended then), or a
            # driver's mistake: either way not this phone system's to report on.
            log.warning(
                "phone system %s reported a call on line %s, which is not one of its lines",
                self._system_id,
                event.line_id,
            )
            return
        self._lines.enqueue(event)

    def set_status(self, state: LineState, reason: str = "", line_id: int | None = None) -> None:
        if line_id is not None:
            if line_id not in self._line_infos:
                return
            before = self.line_status(line_id)
            self._line_states[line_id] = (state, reason)
            if self.line_status(line_id) != before:
                log.info("line %s is %s%s", line_id, state.value, f": {reason}" if reason else "")
                self._announce(line_id)
            return
        if (state, reason) == (self.state, self.reason):
            return
        if self.state is LineState.CONNECTED and state is not LineState.CONNECTED:
            self._lines.unwatched_since[self._system_id] = datetime.now(UTC)
        self.state, self.reason = state, reason
        if state in (LineState.STOPPED, LineState.CONNECTING, LineState.RECONNECTING):
            # The connection itself went; what the driver said of single lines no longer holds.
            self._line_states.clear()
        log.info(
            "phone system %s is %s%s", self._system_id, state.value, f": {reason}" if reason else ""
        )
        for line_id in self._line_infos:
            self._announce(line_id)

    def reconcile(
        self,
        live_call_refs: Collection[str],
        at: datetime | None = None,
        reason: str = "",
        line_id: int | None = None,
    ) -> None:
        line_ids = tuple(self._line_infos) if line_id is None else (line_id,)
        at = at or datetime.now(UTC)
        # Calls that ended unseen end at the last moment they were known to exist: when the
        # line lost its connection (or this server last ran), not now; never before their last
        # state change (see `recorder.end_call`).
        unwatched = self._lines.unwatched_since.get(self._system_id)
        if unwatched is not None:
            at = min(at, unwatched)
        if self.state is LineState.CONNECTED and line_id is None:
            # Watched again and told what exists: from now on the line knows first hand.
            self._lines.unwatched_since.pop(self._system_id, None)
        self._lines.enqueue(_Reconcile(line_ids, frozenset(live_call_refs), at, reason))

    async def stored(self) -> bool:
        return await self._lines.stored()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._supervised.add(task)
        task.add_done_callback(self._task_done)
        return task

    def spawn_unsupervised(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """A task serving one connection: cancelled when the driver stops, but its failure
        ends that connection only (logged), not the phone system."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._connections.add(task)
        task.add_done_callback(self._connection_done)

    def _connection_done(self, task: asyncio.Task[None]) -> None:
        self._connections.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("phone system %s: %r failed", self._system_id, task.get_name(), exc_info=exc)

    # --- supervision ---------------------------------------------------------------------------

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._supervised.discard(task)
        if task.cancelled() or (exc := task.exception()) is None:
            return
        log.error(
            "phone system %s: the driver's task %r died",
            self._system_id,
            task.get_name(),
            exc_info=exc,
        )
        self.crashed(f"the driver failed ({type(exc).__name__}: {exc})")

    def crashed(self, reason: str) -> None:
        """The driver stopped working: show it failed and restart it after a back-off."""
        if self._restart is not None and not self._restart.done():
            return  # already restarting; one crash is reported, not every dying task
        if self._lines.running.get(self._system_id) is not self:
            return  # stopped meanwhile: nothing to restart
        self._restart = asyncio.get_running_loop().create_task(
            self._restart_driver(reason), name=f"restart phone system {self._system_id}"
        )

    async def _restart_driver(self, reason: str) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._started_at > RESTART_STABLE:
            self._crashes = 0
        delay = min(RESTART_MAX, RESTART_FIRST * 2**self._crashes)
        self._crashes += 1
        await self.stop_driver()
        # After stop: the stopped driver says "stopped", the user needs to read why.
        self.set_status(LineState.FAILED, restarting(reason, delay))
        await asyncio.sleep(delay)
        if self._lines.running.get(self._system_id) is not self:
            return
        log.info("phone system %s: restarting its driver", self._system_id)
        self._restart = None  # from here on, a new crash (even of this start) restarts again
        self.driver = self.driver_cls(self)
        self.set_status(LineState.CONNECTING)
        await self.start_driver()

    async def start_driver(self) -> None:
        self._started_at = asyncio.get_running_loop().time()
        try:
            await self.driver.start()
        except Exception as exc:
            log.exception("phone system %s failed to start", self._system_id)
            self.crashed(f"could not start: {exc or type(exc).__name__}")

    async def stop_driver(self) -> None:
        """Stop the driver, and whatever it spawned that its `stop` left running."""
        try:
            await self.driver.stop()
        except Exception:
            log.exception("phone system %s did not stop cleanly", self._system_id)
        leftover = [*self._supervised, *self._connections]
        for task in leftover:
            task.cancel()
        if leftover:
            await asyncio.wait(leftover)

    async def stop(self) -> None:
        """For good: no restart after this."""
        restart, self._restart = self._restart, None
        if restart is not None and restart is not asyncio.current_task():
            restart.cancel()
            await asyncio.wait([restart])
        await self.stop_driver()

    # --- the core's side -----------------------------------------------------------------------

    def line_status(self, line_id: int) -> dict[str, Any]:
        state, reason = self.state, self.reason
        own = self._line_states.get(line_id)
        if own is not None and self.state is LineState.CONNECTED:
            state, reason = own
        return {"id": line_id, "state": state.value, "reason": reason}

    def _announce(self, line_id: int) -> None:
        info = self._line_infos[line_id]
        message = LineChanged(line=LineStatus.model_validate(self.line_status(line_id)))
        self._lines.notify(info.user_id, message.model_dump(mode="json"))


class Lines:
    """Every running phone system of this server, and so every running line."""

    def __init__(
        self,
        store: Store,
        hub: JournalHub,
        ring_timeout: float = 300.0,
        connected_timeout: float = 12 * 3600.0,
    ) -> None:
        self.store = store
        self.hub = hub
        self.ring_timeout = ring_timeout
        self.connected_timeout = connected_timeout
        #: When this server's lines were last known to run, as the previous run left it in the
        #: store (read at start): calls its phone systems no longer have ended by then.
        self.previous_run_alive_at: datetime | None = None
        #: Since when each phone system (by id) has not been watched: it lost its connection or
        #: was stopped in this run, or this server last ran before its first start.
        self.unwatched_since: dict[int, datetime] = {}
        self._started_once: set[int] = set()
        self.queue: asyncio.Queue[CallEvent | _Reconcile] = asyncio.Queue()
        # Items ever put on the queue, and ever taken off and done with (stored, or given up):
        # the queue is worked in order, so "stored up to here" is one number (see `stored`).
        self._queued = 0
        self._settled = 0
        self._waiting: list[_Waiter] = []
        self.running: dict[int, SystemRunner] = {}  # by phone system id
        # Which running phone system serves each line: every push and action asks.
        self._system_of_line: dict[int, int] = {}
        self.loaded: set[str] = set()  # drivers loaded in this server run
        self._tasks: list[asyncio.Task[None]] = []
        self._pending_notes: set[asyncio.Task[None]] = set()
        self._overrun = False  # the backlog is beyond BACKLOG_LIMIT (logged once per episode)
        self._recorder = ThreadPoolExecutor(1, thread_name_prefix="record-call-events")
        #: Which phone systems this server may run (several servers on PostgreSQL: the ones
        #: whose lease it holds), and the way to the others' lines.
        self.leases = Leases()
        self.relay = ActionRelay(self._perform_relayed)
        self.relay.owns = lambda system_id: system_id in self.running
        self.relay.open_far = self._open_far
        #: Call events recorded and transactions used, for benchmarks and logs.
        self.recorded = 0
        self.commits = 0

    # --- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self.previous_run_alive_at = await asyncio.to_thread(self._alive_at)
        self.leases.on_lost = self._lost_leases
        await self.leases.start()
        self._tasks = [
            asyncio.create_task(self._record_events(), name="record-call-events"),
            asyncio.create_task(self._expire_ringing(), name="expire-ringing-calls"),
        ]
        if self.leases.shared:
            self._tasks.append(asyncio.create_task(self._keep_leases(), name="phone-system-leases"))
        auto = await asyncio.to_thread(self._auto_loaded)
        for name in auto:
            await self.load_driver(name)

    def _auto_loaded(self) -> list[str]:
        with self.store.session() as session:
            rows = session.scalars(
                select(InstalledDriver.name).where(
                    InstalledDriver.installed.is_(True), InstalledDriver.auto_load.is_(True)
                )
            )
            return [name for name in rows if name in available_drivers()]

    async def stop(self) -> None:
        for system_id in list(self.running):
            await self.stop_system(system_id)
        with contextlib.suppress(Exception):  # a database that is away loses only precision
            await asyncio.to_thread(self._still_alive)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout=5)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.leases.close()
        await self.relay.close()
        # Its thread ends; a new executor starts no thread until it is used (a start again).
        self._recorder.shutdown(wait=False)
        self._recorder = ThreadPoolExecutor(1, thread_name_prefix="record-call-events")

    async def load_driver(self, name: str) -> list[int]:
        """Start every enabled phone system of a driver; their lines get calls until the server
        stops. Returns the ids of the lines started."""
        driver_class(name)  # raises with a clear message when the driver is missing or broken
        self.loaded.add(name)
        system_ids = await asyncio.to_thread(self._system_ids, name)
        started: list[int] = []
        for system_id in system_ids:
            runner = await self.start_system(system_id)
            if runner is not None:
                started.extend(runner.lines)
        return started

    async def unload_driver(self, name: str) -> None:
        for system_id, runner in list(self.running.items()):
            if runner.driver_name == name:
                await self.stop_system(system_id)
        self.loaded.discard(name)

    def _system_ids(self, driver: str) -> list[int]:
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(PhoneSystem.id)
                    .where(PhoneSystem.driver == driver, PhoneSystem.enabled.is_(True))
                    .order_by(PhoneSystem.id)
                )
            )

    def _load_system(self, system_id: int) -> tuple[PhoneSystem, list[Line]] | None:
        with self.store.session() as session:
            system = session.get(PhoneSystem, system_id)
            if system is None or not system.enabled:
                return None
            rows = list(
                session.scalars(
                    select(Line)
                    .where(Line.phone_system_id == system_id, Line.enabled.is_(True))
                    .order_by(Line.id)
                )
            )
            session.expunge_all()
            return system, rows

    async def start_system(self, system_id: int) -> SystemRunner | None:
        """Start (or restart) a phone system here; None when another server runs it (it holds
        the phone system's lease)."""
        await self.stop_system(system_id)
        loaded = await asyncio.to_thread(self._load_system, system_id)
        if loaded is None:
            raise LineError(f"there is no phone system {system_id}, or it is switched off")
        system, rows = loaded
        if system.driver not in self.loaded:
            raise LineError(
                f"the {system.driver!r} driver is not loaded: load it, or turn on Auto Load, "
                "in Settings > Interfaces > Extensions"
            )
        if not await self.leases.acquire(system_id):
            return None
        try:
            runner = SystemRunner(self, system, driver_class(system.driver), rows)
        except Exception as exc:
            await self.leases.release(system_id)
            raise LineError(f"{system.name} cannot start: {exc}") from exc
        self.running[system_id] = runner
        self._index(runner, ())
        if system_id not in self._started_once:
            self._started_once.add(system_id)
            if self.previous_run_alive_at is not None:
                self.unwatched_since.setdefault(system_id, self.previous_run_alive_at)
        runner.set_status(LineState.CONNECTING)
        await runner.start_driver()
        return runner

    async def stop_system(self, system_id: int) -> None:
        runner = self.running.pop(system_id, None)
        if runner is None:
            return
        self._index(runner, runner.lines, keep=False)
        await runner.stop()
        runner.set_status(LineState.STOPPED)
        await self.leases.release(system_id)

    # --- several servers -------------------------------------------------------------------------

    def _lost_leases(self, lost: set[int]) -> None:
        for system_id in lost:
            task = asyncio.get_running_loop().create_task(self.stop_system(system_id))
            self._pending_notes.add(task)
            task.add_done_callback(self._pending_notes.discard)

    async def _keep_leases(self) -> None:
        """Run what this server may run: take the leases of phone systems nobody runs (their
        server died, or they were just switched on), and follow changes made on other servers
        to the ones it runs (switched off, lines or options changed)."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.leases.check()
                await self.follow_store()
            except Exception:
                log.exception("could not take over or follow phone systems")

    async def follow_store(self) -> None:
        wanted = await asyncio.to_thread(self._wanted_systems)
        for system_id in list(self.running):
            if system_id not in wanted:
                await self.stop_system(system_id)
        for system_id, (options, lines) in wanted.items():
            runner = self.running.get(system_id)
            if runner is None:
                try:
                    if await self.start_system(system_id) is not None:
                        log.info("this server now runs phone system %s", system_id)
                except LineError as exc:
                    log.warning("phone system %s cannot start here: %s", system_id, exc)
            elif runner.raw_options != options:
                await self.start_system(system_id)
            elif runner.signature != lines:
                await self.lines_changed(system_id)

    def _wanted_systems(self) -> dict[int, tuple[dict[str, Any], frozenset[tuple[Any, ...]]]]:
        """The enabled phone systems of the drivers loaded here: their options and lines (read
        again should the database drop the connection under it)."""
        return self.store.read(self._wanted_in)

    def _wanted_in(
        self, session: Session
    ) -> dict[int, tuple[dict[str, Any], frozenset[tuple[Any, ...]]]]:
        systems = session.scalars(
            select(PhoneSystem).where(
                PhoneSystem.enabled.is_(True), PhoneSystem.driver.in_(self.loaded)
            )
        ).all()
        lines = session.scalars(
            select(Line).where(
                Line.enabled.is_(True),
                Line.phone_system_id.in_([system.id for system in systems]),
            )
        ).all()
        by_system: dict[int, set[tuple[Any, ...]]] = {system.id: set() for system in systems}
        for line in lines:
            by_system[line.phone_system_id].add(_signature(line))
        return {
            system.id: (dict(system.options or {}), frozenset(by_system[system.id]))
            for system in systems
        }

    async def lines_changed(self, system_id: int) -> None:
        """A line of a phone system was added, edited, switched on or off, or deleted."""
        runner = self.running.get(system_id)
        if runner is None:
            if await asyncio.to_thread(self._driver_of, system_id) in self.loaded:
                await self.start_system(system_id)
            return
        loaded = await asyncio.to_thread(self._load_system, system_id)
        if loaded is None:
            await self.stop_system(system_id)
            return
        before = dict(runner.lines)
        runner.set_lines(driver_class(runner.driver_name), loaded[1])
        self._index(runner, before)
        for line_id, info in before.items():
            if line_id in runner.lines:
                continue
            # Its calls can no longer be reported: they end now, not at the line's next start.
            self.enqueue(
                _Reconcile((line_id,), frozenset(), datetime.now(UTC), "the line was switched off")
            )
            gone_line = LineChanged(line=LineStatus.model_validate(self.status(line_id)))
            self.notify(info.user_id, gone_line.model_dump(mode="json"))
        await runner.driver.lines_changed()

    def _driver_of(self, system_id: int) -> str | None:
        with self.store.session() as session:
            system = session.get(PhoneSystem, system_id)
            return system.driver if system is not None else None

    def _index(self, runner: SystemRunner, before: Collection[int], keep: bool = True) -> None:
        """Point the lines of `runner` at it (none of them, with `keep` False), and drop the
        lines in `before` it no longer serves."""
        for line_id in before:
            if self._system_of_line.get(line_id) == runner.system_id:
                del self._system_of_line[line_id]
        if keep:
            for line_id in runner.lines:
                self._system_of_line[line_id] = runner.system_id

    def runner_of_line(self, line_id: int) -> SystemRunner | None:
        system_id = self._system_of_line.get(line_id)
        return self.running.get(system_id) if system_id is not None else None

    def status(self, line_id: int) -> dict[str, Any]:
        runner = self.runner_of_line(line_id)
        if runner is None:
            return {"id": line_id, "state": LineState.STOPPED.value, "reason": ""}
        return runner.line_status(line_id)

    # --- recording -----------------------------------------------------------------------------

    async def submit(self, event: CallEvent) -> None:
        """Queue an event as if the line's driver had emitted it; waits while the recorder is
        far behind, so a caller that can wait is slowed down instead of growing the backlog."""
        while self.queue.qsize() >= BACKLOG_LIMIT:
            await asyncio.sleep(0.01)
        self.enqueue(event)

    def enqueue(self, item: CallEvent | _Reconcile) -> None:
        # A driver's `emit` cannot wait (it is called from the driver's own code on the loop),
        # and a call event must not be dropped: the backlog grows, and the operator is told.
        self.queue.put_nowait(item)
        self._queued += 1
        backlog = self.queue.qsize()
        if backlog >= BACKLOG_LIMIT and not self._overrun:
            self._overrun = True
            log.warning(
                "%d call events are waiting to be recorded: the phone systems report faster "
                "than the database stores (see docs/scaling.md)",
                backlog,
            )
        elif self._overrun and backlog < BACKLOG_LIMIT // 2:
            self._overrun = False

    async def flush(self) -> None:
        """Wait until every queued event is recorded and pushed."""
        await self.queue.join()

    async def stored(self) -> bool:
        """Wait until everything queued so far is stored; False if some of it could not be
        (the database was away for too long, see `_retried`). What a phone system is told
        "received" must be stored first: a server killed after confirming loses nothing."""
        until = self._queued
        if until <= self._settled:
            return True
        waiter = _Waiter(until, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        return await waiter.done

    def _settle(self, count: int, failed: bool) -> None:
        self._settled += count
        waiting: list[_Waiter] = []
        for waiter in self._waiting:
            # Every waiter still waiting covers part of this batch: a failure is its too.
            waiter.failed = waiter.failed or failed
            if waiter.until > self._settled:
                waiting.append(waiter)
            elif not waiter.done.done():
                waiter.done.set_result(not waiter.failed)
        self._waiting = waiting

    async def _record_events(self) -> None:
        try:
            while True:
                batch = [await self.queue.get()]
                while len(batch) < BATCH_MAX and not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                stored = False
                try:
                    stored = await self._record_batch(batch)
                finally:
                    for _ in batch:
                        self.queue.task_done()
                    self._settle(len(batch), not stored)
        finally:
            # Stopping: whatever is still queued is not stored by this server.
            for waiter in self._waiting:
                if not waiter.done.done():
                    waiter.done.set_result(False)
            self._waiting = []

    async def _record_batch(self, batch: list[CallEvent | _Reconcile]) -> bool:
        """Record queued items in their order: runs of call events together, a reconciliation
        (rare: a line (re)connected) on its own between them. False if some were not stored."""
        events: list[CallEvent] = []
        stored = True
        for item in [*batch, None]:
            if isinstance(item, CallEvent):
                events.append(item)
                continue
            if events:
                stored &= await self._guarded(self._record_events_together(events), events)
                events = []
            if item is not None:
                stored &= await self._guarded(self._reconcile_retried(item), item)
        return stored

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None], what: object) -> bool:
        try:
            await work
        except Exception:
            log.exception("call events could not be recorded: %r", what)
            return False
        return True

    async def _reconcile_retried(self, item: _Reconcile) -> None:
        await self._retried(lambda: self._reconcile(item))

    @staticmethod
    async def _retried(attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt`, tried until the database takes it: however long it is away (a restart,
        a failover, connections killed one after another), call events are kept, in order,
        and recorded when it is back. Giving up would lose them."""
        delay = 0.2
        while True:
            try:
                return await attempt()
            except OperationalError as exc:
                log.warning("database unavailable, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECORD_RETRY_MAX)

    async def _record_events_together(self, events: list[CallEvent]) -> None:
        pending = events
        while pending:
            pushes, pending = await self._retried(
                functools.partial(self._in_recorder, self._store_some, pending)
            )
            await self._push_entries(pushes)

    async def _in_recorder(
        self, work: Callable[[list[CallEvent]], T], events: list[CallEvent]
    ) -> T:
        # A thread of the recorder's own: the web's threads (thousands of journals opening at
        # once, each reading its snapshot) must not queue in front of recording.
        return await asyncio.get_running_loop().run_in_executor(self._recorder, work, events)

    def _store_some(
        self, events: list[CallEvent]
    ) -> tuple[list[tuple[int, JournalEntry]], list[CallEvent]]:
        """Record `events` in one transaction: the entries to push, and the events left.

        An event the store refuses (a line deleted meanwhile, a driver's nonsense) must not
        cost the others: the batch is rolled back, the first event is recorded alone, and the
        rest come back as a batch of their own (the refused one is logged and skipped).
        """
        try:
            return self._store_together(events), []
        except OperationalError:
            raise
        except Exception:
            if len(events) == 1:
                log.exception("a call event could not be recorded: %r", events[0])
                return [], []
        try:
            first = self._store_together(events[:1])
        except OperationalError:
            raise
        except Exception:
            log.exception("a call event could not be recorded: %r", events[0])
            first = []
        return first, events[1:]

    def _store_together(self, events: list[CallEvent]) -> list[tuple[int, JournalEntry]]:
        """Record the events and read the changed entries back, all in one transaction."""
        with self.store.session() as session:
            owners: dict[int, int] = {}  # call id → the user whose journal shows it
            for change in record_many(session, events):
                owners[change.call_id] = change.user_id
                for call_id, owner in change.siblings:
                    owners[call_id] = owner
            session.flush()
            entries = journal.many(session, list(owners))
            pushes = [(owners[entry.id], entry) for entry in entries]
        self.recorded += len(events)
        self.commits += 1
        return pushes

    async def _reconcile(self, item: _Reconcile) -> None:
        def work() -> list[tuple[int, int, int]]:
            with self.store.session() as session:
                # A phone system of many lines is reconciled in a few queries, not one per line:
                # the recorder waits meanwhile.
                owners: dict[int, int] = {}
                ids = list(item.line_ids)
                for first in range(0, len(ids), RECONCILE_CHUNK):
                    chunk = ids[first : first + RECONCILE_CHUNK]
                    rows = session.execute(select(Line.id, Line.user_id).where(Line.id.in_(chunk)))
                    owners.update({line_id: user_id for line_id, user_id in rows})
                lines = [line_id for line_id in item.line_ids if line_id in owners]
                ended = reconcile_lines(session, lines, item.live_call_refs, item.at, item.reason)
                return [(call_id, line_id, owners[line_id]) for call_id, line_id in ended]

        ended = await asyncio.to_thread(work)
        if not ended:
            return
        owners = {call_id: user_id for call_id, _line_id, user_id in ended}
        for call_id, line_id, _user_id in ended:
            log.info("call %s ended by reconciliation with line %s", call_id, line_id)

        def load() -> list[JournalEntry]:
            with self.store.session() as session:
                return journal.many(session, list(owners))

        # Pushed together, as a batch of call events is.
        entries = await asyncio.to_thread(load)
        await self._push_entries([(owners[entry.id], entry) for entry in entries])

    async def _expire_ringing(self) -> None:
        timeout = min(self.ring_timeout, self.connected_timeout)
        while True:
            await asyncio.sleep(min(15.0, max(timeout / 4, 0.05)))
            try:
                await asyncio.to_thread(self._still_alive)
                await self.expire_ringing_now()
            except Exception:
                log.exception("could not end calls that rang or were connected for too long")

    def _alive_at(self) -> datetime | None:
        with self.store.session() as session:
            row = session.get(Setting, ALIVE_SETTING)
            if row is None or not isinstance(row.value.get("at"), str):
                return None
            return datetime.fromisoformat(row.value["at"])

    def _still_alive(self) -> None:
        """Note that this server's lines are watched now, for after a crash (see `reconcile`)."""
        with self.store.session() as session:
            row = session.get(Setting, ALIVE_SETTING)
            value = {"at": datetime.now(UTC).isoformat()}
            if row is None:
                session.add(Setting(key=ALIVE_SETTING, value=value))
            else:
                row.value = value

    async def expire_ringing_now(self) -> None:
        """End calls that rang without news for `ring_timeout` and calls that were connected
        without news for `connected_timeout`."""
        now = datetime.now(UTC)
        cutoff = now - timedelta(seconds=self.ring_timeout)
        connected_cutoff = now - timedelta(seconds=self.connected_timeout)
        why = f"no news from the phone system for {_hours(self.connected_timeout)} while connected"

        def work() -> list[tuple[int, int]]:
            with self.store.session() as session:
                stale = expire_ringing(session, cutoff)
                stale += expire_connected(session, connected_cutoff, why)
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
            await self._push_entries([(user_id, entry)])

    async def _push_entries(self, pushes: list[tuple[int, JournalEntry]]) -> None:
        """Push entries to their users' journals, together (one message to the other servers)."""
        if not pushes:
            return
        messages = []
        for user_id, entry in pushes:
            entry.line.status = LineStatus.model_validate(self.status(entry.line.id))
            messages.append((user_id, CallChanged(entry=entry).model_dump(mode="json")))
        await self.hub.publish_many(messages)

    def notify(self, user_id: int, message: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self.hub.publish(user_id, message))
        self._pending_notes.add(task)
        task.add_done_callback(self._pending_notes.discard)

    # --- actions from the journal ----------------------------------------------------------------

    def _runner_for(self, line_id: int) -> SystemRunner:
        runner = self.runner_of_line(line_id)
        if runner is None:
            raise LineError("this line is not running; an admin can start it in Settings > Lines")
        return runner

    async def dial(self, user_id: int, number: str, line_id: int | None = None) -> int:
        """Call `number` on one of the user's lines; the call shows as dialling at once."""
        line_id = await asyncio.to_thread(self._dialling_line, user_id, line_id)
        runner = self.runner_of_line(line_id)
        if runner is None and not self.relay.connected:
            raise LineError("this line is not running; an admin can start it in Settings > Lines")
        if runner is not None and not runner.driver.can_dial:
            raise LineError(f"{runner.driver.title} cannot place calls")
        dial_ref = uuid.uuid4().hex
        call_id, request = await asyncio.to_thread(self._begin_dial, line_id, number, dial_ref)
        await self.publish_call(user_id, call_id)
        if runner is None:
            # Run by another server: it dials, and records the failure if it cannot.
            arguments = {"dial_ref": dial_ref, "number": request.number}
            arguments["dial_string"] = request.dial_string
            try:
                await self.relay.ask(line_id, "dial", arguments)
            except RelayError as exc:
                raise LineError(f"could not dial {number}: {exc}") from exc
            return call_id
        error = await self._dial_here(runner, line_id, request)
        if error:
            raise LineError(f"could not dial {number}: {error}")
        return call_id

    async def _dial_here(self, runner: SystemRunner, line_id: int, request: DialRequest) -> str:
        """Dial on a line run here; an error message, or "" when the driver dialled."""
        try:
            await runner.driver.dial(line_id, request)
        except (DriverError, OSError) as exc:
            await self.submit(
                CallEvent(
                    line_id=line_id,
                    call_ref=f"dial:{request.dial_ref}",
                    direction=Direction.OUTGOING,
                    state=CallState.ENDED,
                    end_reason=EndReason.FAILED,
                )
            )
            return str(exc) or type(exc).__name__
        return ""

    # --- what reached another server --------------------------------------------------------

    async def ask_system(
        self, system_id: int, kind: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Pass a request for a phone system that another server runs on to its driver's
        `relayed` there; its answer. Raises `RelayError`."""
        arguments = {"system_id": system_id, "kind": kind, "payload": payload}
        return await self.relay.ask(0, "system", arguments, timeout)

    async def tunnel(self, system_id: int, kind: str, opening: dict[str, Any]) -> Tunnel:
        """A connection for a phone system that another server runs, passed on to its driver's
        `tunnel` there. Raises `RelayError`."""
        return await self.relay.open_tunnel(system_id, kind, opening)

    async def _open_far(
        self, system_id: int, kind: str, opening: dict[str, Any], far: FarEnd
    ) -> bool:
        runner = self.running.get(system_id)
        if runner is None:
            return False
        runner.spawn_unsupervised(runner.driver.tunnel(kind, opening, far), f"tunnel {kind}")
        return True

    async def _relayed_system(self, arguments: dict[str, Any]) -> str | dict[str, Any] | None:
        runner = self.running.get(int(arguments["system_id"]))
        if runner is None:
            return None
        try:
            return await runner.driver.relayed(str(arguments["kind"]), arguments["payload"])
        except DriverError as exc:
            return str(exc) or type(exc).__name__
        except Exception as exc:
            log.exception("phone system %s failed on a request passed on", runner.system_id)
            return f"the phone system failed ({type(exc).__name__})"

    async def _perform_relayed(
        self, line_id: int, action: str, arguments: dict[str, Any]
    ) -> str | dict[str, Any] | None:
        """An action another server passed on: done if this server runs the line (returns
        "" or what went wrong, for the user), else None."""
        if action == "system":
            return await self._relayed_system(arguments)
        runner = self.runner_of_line(line_id)
        if runner is None:
            return None
        if action == "dial":
            request = DialRequest(
                dial_ref=str(arguments["dial_ref"]),
                number=str(arguments["number"]),
                dial_string=str(arguments["dial_string"]),
            )
            if not runner.driver.can_dial:
                return f"{runner.driver.title} cannot place calls"
            return await self._dial_here(runner, line_id, request)
        if action not in ("answer", "hang up"):
            return f"unknown action {action!r}"
        try:
            await self._act_here(runner, line_id, str(arguments["call_ref"]), action)
        except LineError as exc:
            return str(exc)
        return ""

    def _dialling_line(self, user_id: int, line_id: int | None) -> int:
        with self.store.session() as session:
            query = select(Line).where(Line.user_id == user_id, Line.enabled.is_(True))
            if line_id is not None:
                query = query.where(Line.id == line_id)
            lines = list(session.scalars(query.order_by(Line.id)))
        for line in lines:
            runner = self.runner_of_line(line.id)
            if runner is not None and runner.driver.can_dial:
                return line.id
            if runner is None and self.relay.connected and _can_dial(line.driver):
                return line.id  # run by another server
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
        runner = self.runner_of_line(call.line_id)
        if runner is None and not self.relay.connected:
            runner = self._runner_for(call.line_id)  # says the line is not running
        call_ref = call.call_ref
        if call_ref.startswith(DIGEST_PREFIX):  # a long reference, stored as its digest
            call_ref = await asyncio.to_thread(self._driver_ref, call)
        if runner is None:
            try:
                await self.relay.ask(call.line_id, action, {"call_ref": call_ref})
            except RelayError as exc:
                raise LineError(f"could not {action}: {exc}") from exc
            return
        await self._act_here(runner, call.line_id, call_ref, action)

    async def _act_here(
        self, runner: SystemRunner, line_id: int, call_ref: str, action: str
    ) -> None:
        driver = runner.driver
        act = driver.answer if action == "answer" else driver.hangup
        try:
            await act(line_id, call_ref)
        except NotSupported as exc:
            raise LineError(str(exc)) from exc
        except DriverError as exc:
            raise LineError(f"could not {action}: {exc}") from exc

    def _driver_ref(self, call: Call) -> str:
        with self.store.session() as session:
            return driver_ref(session, call)

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
