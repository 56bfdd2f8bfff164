"""Running phone systems in the core (`Lines`) over a real store: supervised drivers (issue 8,
deliverable 4), connected calls that never end, and reconciliation after a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from offhook.calls.events import CallEvent, CallState, Direction
from offhook.calls.recorder import record
from offhook.drivers.contract import LineState
from offhook.drivers.simulator import SimulatorDriver
from offhook.journal.push import JournalHub
from offhook.lines import running
from offhook.lines.reasons import reason_text
from offhook.lines.running import Lines
from offhook.settings import language
from offhook.store import Store
from offhook.store.models import Call
from tests import factories


async def until(condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)
    return result


@pytest.fixture
def fast_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(running, "RESTART_FIRST", 0.05)


@pytest.fixture
async def lines(sqlite_store: Store) -> AsyncIterator[Lines]:
    running_lines = Lines(sqlite_store, JournalHub())
    yield running_lines
    await running_lines.stop()


def state_of(lines: Lines, line_id: int) -> tuple[str, str]:
    status = lines.status(line_id)
    return status["state"], status["reason"]


async def test_a_driver_task_that_dies_fails_the_line_and_is_restarted(
    lines: Lines, sqlite_store: Store, fast_restarts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fault of issue 8, defect 4, in general: a driver's task dies of a bug. The line must
    not keep showing "connected"; it shows why it failed, and a new driver takes over."""
    _, line = factories.user_with_line(sqlite_store)
    started: list[SimulatorDriver] = []
    seen: list[tuple[str, str]] = []
    original_start = SimulatorDriver.start

    async def start(self: SimulatorDriver) -> None:
        await original_start(self)
        started.append(self)
        if len(started) == 1:

            async def bug() -> None:
                await asyncio.sleep(0)
                raise KeyError("no such leg")

            self.context.spawn(bug(), "a task with a bug")

    monkeypatch.setattr(SimulatorDriver, "start", start)
    original_set_status = running.SystemRunner.set_status

    def set_status(
        self: running.SystemRunner, state: LineState, reason: str = "", **kw: Any
    ) -> None:
        original_set_status(self, state, reason, **kw)
        seen.append((state.value, reason))

    monkeypatch.setattr(running.SystemRunner, "set_status", set_status)
    await lines.start()
    await until(lambda: len(started) == 2, "the driver to be restarted")
    await until(lambda: state_of(lines, line.id)[0] == "connected", "the line to reconnect")
    failed = [reason for state, reason in seen if state == "failed"]
    assert failed and "KeyError" in failed[0] and "restarting in" in failed[0]
    # Never "connected" between the crash and the restart.
    after_crash = seen[seen.index(("failed", failed[0])) :]
    assert after_crash[1][0] in ("connecting", "stopped")
    runner = lines.runner_of_line(line.id)
    assert runner is not None and runner.driver is started[1] is not started[0]


async def test_a_driver_that_cannot_start_is_retried_with_back_off(
    lines: Lines, sqlite_store: Store, fast_restarts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, line = factories.user_with_line(sqlite_store)
    attempts = 0
    original_start = SimulatorDriver.start

    async def start(self: SimulatorDriver) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise OSError("the phone system is not there yet")
        await original_start(self)

    monkeypatch.setattr(SimulatorDriver, "start", start)
    await lines.start()
    _, reason = await until(
        lambda: state_of(lines, line.id)[0] == "failed" and state_of(lines, line.id),
        "the line to fail",
    )
    assert "not there yet" in reason and "restarting in" in reason
    # Shown in the reader's language: the core's words translated, the driver's kept.
    with language.using("de-CH"):
        shown = reason_text(reason)
    assert shown.startswith("konnte nicht starten: the phone system is not there yet; Neustart in ")
    assert reason_text(reason) == reason
    await until(lambda: state_of(lines, line.id)[0] == "connected", "the line to start")
    assert attempts == 3


async def test_a_stopped_system_is_not_restarted(
    lines: Lines, sqlite_store: Store, fast_restarts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, line = factories.user_with_line(sqlite_store)

    async def start(self: SimulatorDriver) -> None:
        raise OSError("down")

    monkeypatch.setattr(SimulatorDriver, "start", start)
    await lines.start()
    runner = await until(lambda: lines.runner_of_line(line.id), "the line to run")
    await lines.stop_system(runner.system_id)
    assert state_of(lines, line.id)[0] == "stopped"
    assert not lines.running


def _connected_call(store: Store, line_id: int, ref: str) -> None:
    with store.session() as session:
        for state in (CallState.RINGING, CallState.CONNECTED):
            record(session, CallEvent(line_id, ref, Direction.INCOMING, state, remote_number="044"))


def _call(store: Store, ref: str) -> Call:
    with store.session() as session:
        call = session.scalar(select(Call).where(Call.call_ref == ref))
        assert call is not None
        session.expunge(call)
        return call


async def test_a_connected_call_without_news_is_ended_after_the_bound(
    sqlite_store: Store,
) -> None:
    _, line = factories.user_with_line(sqlite_store)
    _connected_call(sqlite_store, line.id, "quiet")
    _connected_call(sqlite_store, line.id, "recent")
    last_news = datetime.now(UTC) - timedelta(hours=13)
    with sqlite_store.session() as session:
        session.execute(
            update(Call)
            .where(Call.call_ref == "quiet")
            .values(started_at=last_news, connected_at=last_news, updated_at=last_news)
        )
    lines = Lines(sqlite_store, JournalHub(), connected_timeout=12 * 3600)
    await lines.expire_ringing_now()
    quiet, recent = _call(sqlite_store, "quiet"), _call(sqlite_store, "recent")
    assert (quiet.state, quiet.end_reason, quiet.ended_at) == ("ended", "answered", last_news)
    assert quiet.ended_by_offhook and "12 h" in quiet.ended_by_offhook
    assert recent.state == "connected"


async def test_calls_gone_while_the_line_was_down_end_when_it_went_down(
    lines: Lines, sqlite_store: Store
) -> None:
    _, line = factories.user_with_line(sqlite_store)
    await lines.start()
    runner = await until(lambda: lines.runner_of_line(line.id), "the line to run")
    await until(lambda: state_of(lines, line.id)[0] == "connected", "the line to connect")
    await lines.flush()  # the simulator's own reconciliation at start
    _connected_call(sqlite_store, line.id, "talking")
    last_news = _call(sqlite_store, "talking").updated_at
    runner.set_status(LineState.RECONNECTING, "lost the phone system")
    went_down = lines.unwatched_since[runner.system_id]
    runner.set_status(LineState.CONNECTED)
    runner.reconcile([])  # back, and the call is gone
    await lines.flush()
    talking = _call(sqlite_store, "talking")
    assert talking.state == "ended" and talking.ended_by_offhook
    assert talking.connected_at is not None and talking.ended_at is not None
    assert talking.ended_at == max(went_down, last_news) == went_down
    assert talking.ended_at < datetime.now(UTC)
    # Watched again: a later reconciliation knows first hand.
    assert runner.system_id not in lines.unwatched_since
