"""Recording call events in a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from offhook.calls.events import (
    MAX_REMOTE_TEXT,
    CallEvent,
    CallState,
    Direction,
    EndReason,
    stored_ref,
)
from offhook.calls.recorder import driver_ref, expire_ringing, reconcile, record
from offhook.store import Store
from offhook.store.models import Call, CallEventRecord
from tests import factories

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def feed(store: Store, *events: CallEvent) -> None:
    for event in events:
        with store.session() as session:
            record(session, event)


def calls(store: Store) -> list[Call]:
    with store.session() as session:
        return list(session.scalars(select(Call).order_by(Call.id)))


def test_known_caller_is_found_and_call_recorded(store: Store) -> None:
    _, line = factories.user_with_line(store)
    anna = factories.address(store)
    feed(
        store,
        CallEvent(
            line.id, "c1", Direction.INCOMING, CallState.RINGING, at(0), "+41446681812", "A M"
        ),
        CallEvent(line.id, "c1", Direction.INCOMING, CallState.CONNECTED, at(4)),
        CallEvent(line.id, "c1", Direction.INCOMING, CallState.ENDED, at(130)),
    )
    [call] = calls(store)
    assert call.address_id == anna.id
    assert call.match == "exact"
    assert call.remote_e164 == "+41446681812"
    assert (call.state, call.end_reason) == ("ended", "answered")
    assert call.connected_at == at(4) and call.ended_at == at(130)
    with store.session() as session:
        assert session.scalar(select(func.count(CallEventRecord.id))) == 3


def test_duplicate_and_out_of_order_events_leave_one_correct_call(store: Store) -> None:
    _, line = factories.user_with_line(store)
    ring = CallEvent(line.id, "c2", Direction.INCOMING, CallState.RINGING, at(0), "0446681812")
    ended = CallEvent(line.id, "c2", Direction.INCOMING, CallState.ENDED, at(90))
    connected = CallEvent(line.id, "c2", Direction.INCOMING, CallState.CONNECTED, at(10))
    feed(store, ring, ring, ended, connected, ring, ended)
    [call] = calls(store)
    assert call.state == "ended"
    assert call.end_reason == "answered"
    assert (call.started_at, call.connected_at, call.ended_at) == (at(0), at(10), at(90))


def test_missed_call(store: Store) -> None:
    _, line = factories.user_with_line(store)
    feed(
        store,
        CallEvent(line.id, "c3", Direction.INCOMING, CallState.RINGING, at(0), "anonymous"),
        CallEvent(line.id, "c3", Direction.INCOMING, CallState.ENDED, at(20)),
    )
    [call] = calls(store)
    assert call.end_reason == "missed"
    assert call.remote_kind == "withheld"
    assert call.address_id is None


def test_first_event_of_a_dialled_call_attaches_to_the_dialling_entry(store: Store) -> None:
    _, line = factories.user_with_line(store)
    with store.session() as session:
        session.add(
            Call(
                line_id=line.id,
                call_ref="dial:abc",
                dial_ref="abc",
                direction="outgoing",
                state="dialling",
                remote_number="+41446681812",
                started_at=at(0),
            )
        )
    feed(
        store,
        CallEvent(line.id, "sip-77", Direction.OUTGOING, CallState.DIALLING, at(1), dial_ref="abc"),
        CallEvent(line.id, "sip-77", Direction.OUTGOING, CallState.CONNECTED, at(3)),
        CallEvent(line.id, "sip-77", Direction.OUTGOING, CallState.ENDED, at(63)),
    )
    [call] = calls(store)
    assert call.call_ref == "sip-77"
    assert call.started_at == at(0)
    assert call.end_reason == "answered"


def test_reconcile_ends_calls_the_phone_system_no_longer_has(store: Store) -> None:
    _, line = factories.user_with_line(store)
    feed(
        store,
        CallEvent(line.id, "gone", Direction.INCOMING, CallState.RINGING, at(0), "0446681812"),
        CallEvent(line.id, "talking", Direction.INCOMING, CallState.RINGING, at(1), "0446681813"),
        CallEvent(line.id, "talking", Direction.INCOMING, CallState.CONNECTED, at(2)),
    )
    with store.session() as session:
        ended = reconcile(session, line.id, {"talking"}, at(50))
    assert len(ended) == 1
    gone, talking = calls(store)
    assert (gone.state, gone.end_reason, gone.ended_by_offhook is not None) == (
        "ended",
        "missed",
        True,
    )
    assert talking.state == "connected"
    # The real end arriving later still wins over offhook's guess of the time.
    feed(
        store,
        CallEvent(
            line.id,
            "gone",
            Direction.INCOMING,
            CallState.ENDED,
            at(30),
            end_reason=EndReason.MISSED,
        ),
    )
    assert calls(store)[0].ended_at == at(30)


def test_calls_ringing_too_long_are_ended(store: Store) -> None:
    _, line = factories.user_with_line(store)
    feed(store, CallEvent(line.id, "c9", Direction.INCOMING, CallState.RINGING, at(0), "044"))
    with store.session() as session:
        session.execute(update(Call).values(updated_at=at(0)))
    with store.session() as session:
        assert expire_ringing(session, at(600))
    [call] = calls(store)
    assert (call.state, call.end_reason) == ("ended", "missed")


def test_long_call_refs_stay_whole_and_unique(store: Store) -> None:
    """Issue 8, defect 2: refs sharing their first 200 characters are two calls, and every
    later event, reconciliation and driver action finds each by its whole reference."""
    _, line = factories.user_with_line(store)
    first, second = "x" * 200 + "a" * 40, "x" * 200 + "b" * 40
    feed(
        store,
        CallEvent(line.id, first, Direction.INCOMING, CallState.RINGING, at(0), "0446681812"),
        CallEvent(line.id, second, Direction.INCOMING, CallState.RINGING, at(1), "0446681813"),
        CallEvent(line.id, first, Direction.INCOMING, CallState.CONNECTED, at(2)),
    )
    with store.session() as session:
        assert reconcile(session, line.id, {first}, at(50)) == [calls(store)[1].id]
    one, two = calls(store)
    assert (one.state, two.state, two.end_reason) == ("connected", "ended", "missed")
    assert one.call_ref == stored_ref(first) != two.call_ref == stored_ref(second)
    with store.session() as session:
        assert driver_ref(session, one) == first
        assert driver_ref(session, two) == second


def test_a_short_ref_cannot_pose_as_a_long_ones_digest(store: Store) -> None:
    _, line = factories.user_with_line(store)
    long_ref = "y" * 300
    feed(
        store,
        CallEvent(line.id, long_ref, Direction.INCOMING, CallState.RINGING, at(0), "044"),
        CallEvent(line.id, stored_ref(long_ref), Direction.INCOMING, CallState.RINGING, at(1)),
    )
    assert len({call.call_ref for call in calls(store)}) == 2


def test_a_megabyte_ref_never_reaches_the_store(store: Store) -> None:
    _, line = factories.user_with_line(store)
    huge = "z" * (1 << 20)
    event = CallEvent(line.id, huge, Direction.INCOMING, CallState.RINGING, at(0), "9" * 10**6)
    assert len(event.call_ref) < 100 and len(event.remote_number) == MAX_REMOTE_TEXT
    feed(store, event, CallEvent(line.id, huge, Direction.INCOMING, CallState.ENDED, at(5)))
    [call] = calls(store)
    assert (call.state, call.end_reason) == ("ended", "missed")
    with store.session() as session:
        details = session.scalars(select(CallEventRecord.detail))
        assert all(len(str(detail)) < 1000 for detail in details)
