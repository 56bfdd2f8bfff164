"""Missed calls are open work until the caller is reached or a user marks them done."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.calls.missed import mark_done
from offhook.calls.recorder import record_many
from offhook.store import Store
from offhook.store.models import Call
from tests import factories
from tests.calls.test_recorder import at, calls, feed

NUMBER = "+41446681812"


def _missed(line_id: int, ref: str, start: float, number: str = NUMBER) -> list[CallEvent]:
    return [
        CallEvent(line_id, ref, Direction.INCOMING, CallState.RINGING, at(start), number),
        CallEvent(
            line_id,
            ref,
            Direction.INCOMING,
            CallState.ENDED,
            at(start + 20),
            end_reason=EndReason.MISSED,
        ),
    ]


def test_a_call_back_that_reaches_the_caller_closes_their_missed_calls(store: Store) -> None:
    _, line = factories.user_with_line(store)
    _, other = factories.user_with_line(store, "ben", role="user")
    feed(store, *_missed(line.id, "m1", 0), *_missed(other.id, "m2", 30))
    feed(store, *_missed(line.id, "m3", 40, "+41446681899"))
    # A call back that is not answered closes nothing.
    feed(
        store,
        CallEvent(line.id, "o1", Direction.OUTGOING, CallState.DIALLING, at(100), NUMBER),
        CallEvent(line.id, "o1", Direction.OUTGOING, CallState.ENDED, at(110)),
    )
    assert [c.missed_closed_at for c in calls(store)[:3]] == [None, None, None]
    feed(
        store,
        CallEvent(line.id, "o2", Direction.OUTGOING, CallState.DIALLING, at(200), NUMBER),
        CallEvent(line.id, "o2", Direction.OUTGOING, CallState.CONNECTED, at(205)),
    )
    m1, m2, m3 = calls(store)[:3]
    # Both of the number's missed calls, on either line; the other number's stays open.
    assert (m1.missed_closed_how, m2.missed_closed_how, m3.missed_closed_how) == (
        "called_back",
        "called_back",
        None,
    )
    assert m1.missed_closed_at == at(205)
    # The caller of the other number rings again and is answered: closed as answered.
    feed(
        store,
        CallEvent(line.id, "i1", Direction.INCOMING, CallState.RINGING, at(300), "+41446681899"),
        CallEvent(line.id, "i1", Direction.INCOMING, CallState.CONNECTED, at(305)),
    )
    assert calls(store)[2].missed_closed_how == "answered"


def test_marking_done_closes_that_missed_call_and_no_other(store: Store) -> None:
    _, line = factories.user_with_line(store)
    feed(store, *_missed(line.id, "m1", 0), *_missed(line.id, "m2", 30))
    with store.session() as session:
        first = session.scalars(select(Call).where(Call.call_ref == "m1")).one()
        closed = mark_done(session, first)
        assert closed == ((first.id, line.user_id),)
    m1, m2 = calls(store)
    assert (m1.missed_closed_how, m2.missed_closed_how) == ("done", None)


def together(store: Store, *events: CallEvent) -> None:
    """One batch in one transaction, as the server records a burst."""
    with store.session() as session:
        record_many(session, events)


@pytest.mark.parametrize("record", [feed, together], ids=["alone", "together"])
def test_a_connect_closes_the_missed_calls_before_it_not_those_after(
    store: Store, record: Callable[..., None]
) -> None:
    """The same whether the events are recorded one by one or in one batch: each connect
    closes the calls missed before it, not one still ringing when it connected, and a missed
    call is closed once."""
    _, line = factories.user_with_line(store)
    _, other = factories.user_with_line(store, "ben", role="user")
    still_ringing = [
        CallEvent(other.id, "late", Direction.INCOMING, CallState.RINGING, at(0), NUMBER)
    ]
    record(
        store,
        *still_ringing,
        *_missed(line.id, "m1", 10),
        CallEvent(line.id, "o1", Direction.OUTGOING, CallState.DIALLING, at(100), NUMBER),
        CallEvent(line.id, "o1", Direction.OUTGOING, CallState.CONNECTED, at(105)),
        # Missed only after o1 connected: nobody has called it back yet.
        CallEvent(
            other.id,
            "late",
            Direction.INCOMING,
            CallState.ENDED,
            at(110),
            end_reason=EndReason.MISSED,
        ),
        CallEvent(line.id, "i1", Direction.INCOMING, CallState.RINGING, at(200), NUMBER),
        CallEvent(line.id, "i1", Direction.INCOMING, CallState.CONNECTED, at(205)),
    )
    by_ref = {call.call_ref: call for call in calls(store)}
    # m1: closed by the call back that came first, not again by the answered call after it.
    assert (by_ref["m1"].missed_closed_how, by_ref["m1"].missed_closed_at) == (
        "called_back",
        at(105),
    )
    # late: missed after the call back connected, so the answered call i1 closes it.
    assert (by_ref["late"].missed_closed_how, by_ref["late"].missed_closed_at) == (
        "answered",
        at(205),
    )
