"""Call events recorded in batches (issue 13, deliverable 1): a burst takes a few transactions,
yet each call's events apply in order, nothing is recorded twice, one refused event costs the
others nothing, and the journal hears of an event only once it is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from offhook.calls.events import CallEvent, CallState, Direction
from offhook.journal.push import JournalHub
from offhook.lines import running
from offhook.lines.running import Lines
from offhook.store import Store
from offhook.store.models import Call, CallEventRecord
from tests import factories


class StoredCheckingHub(JournalHub):
    """A hub that, for every entry pushed, looks in the store (its own connection): the call
    must be there already, in the state the entry shows."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.batches: list[list[tuple[int, dict[str, Any]]]] = []
        self.unstored: list[str] = []

    async def publish_many(self, messages: list[tuple[int, dict[str, Any]]]) -> None:
        self.batches.append(messages)
        with self.store.session() as session:
            for _, message in messages:
                if message["type"] != "call":
                    continue
                entry = message["entry"]
                state = session.scalar(select(Call.state).where(Call.id == entry["id"]))
                if state != entry["state"]:
                    self.unstored.append(f"call {entry['id']}: {state} in the store")
        await super().publish_many(messages)


@pytest.fixture
async def lines(store: Store) -> AsyncIterator[Lines]:
    running_lines = Lines(store, StoredCheckingHub(store))
    yield running_lines
    await running_lines.stop()


def burst(line_id: int, calls: int) -> list[CallEvent]:
    """Every call rings, is answered and ends; the calls' events interleave."""
    events = []
    for state in (CallState.RINGING, CallState.CONNECTED, CallState.ENDED):
        for n in range(calls):
            events.append(
                CallEvent(line_id, f"burst-{n}", Direction.INCOMING, state, remote_number="044")
            )
    return events


async def test_a_burst_is_recorded_in_few_transactions_in_order_per_call(
    lines: Lines, store: Store
) -> None:
    _, line = factories.user_with_line(store, auto_load=False)
    hub = lines.hub
    assert isinstance(hub, StoredCheckingHub)
    await lines.start()  # no phone system is loaded: only the events queued here
    events = burst(line.id, 200)
    for event in events:
        lines.enqueue(event)
    await lines.flush()

    assert lines.recorded == 600
    # Everything queued at once goes in batches of BATCH_MAX at most.
    assert lines.commits <= -(-600 // running.BATCH_MAX) + 1
    with store.session() as session:
        states = dict(session.execute(select(Call.call_ref, Call.state)).all())
        records = session.scalar(select(func.count()).select_from(CallEventRecord))
        calls = session.scalar(select(func.count()).select_from(Call))
    assert calls == 200 and records == 600
    assert set(states.values()) == {"ended"}
    assert hub.unstored == []
    # The last entry pushed for each call is its final state, and each batch went out as one.
    last: dict[int, str] = {}
    for batch in hub.batches:
        for _, message in batch:
            last[message["entry"]["id"]] = message["entry"]["end_reason"]
    assert len(last) == 200 and set(last.values()) == {"answered"}
    assert len(hub.batches) == lines.commits


async def test_an_event_the_store_refuses_costs_the_batch_nothing(
    lines: Lines, store: Store
) -> None:
    _, line = factories.user_with_line(store, auto_load=False)
    await lines.start()  # no phone system is loaded: only the events queued here
    events = burst(line.id, 5)
    events.insert(
        7, CallEvent(line.id + 1000, "no-such-line", Direction.INCOMING, CallState.RINGING)
    )
    for event in events:
        lines.enqueue(event)
    await lines.flush()
    with store.session() as session:
        refs = list(session.scalars(select(Call.call_ref).order_by(Call.call_ref)))
        records = session.scalar(select(func.count()).select_from(CallEventRecord))
        states = set(session.scalars(select(Call.state)))
    assert refs == [f"burst-{n}" for n in range(5)]
    assert records == 15  # every good event once: the batch that failed was rolled back
    assert states == {"ended"}
