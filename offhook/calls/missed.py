"""Missed calls are work: an incoming call nobody answered stays open until someone reaches the
caller (a call back, or the caller's next call, answered) or marks it done."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from offhook.calls.events import Direction, EndReason
from offhook.store.models import Call, Line
from offhook.store.types import utcnow

Closed = Literal["called_back", "answered", "done"]


def is_open_missed() -> ColumnElement[bool]:
    """The calls still waiting for someone to call back."""
    return and_(
        Call.direction == Direction.INCOMING.value,
        Call.end_reason == EndReason.MISSED.value,
        Call.missed_closed_at.is_(None),
    )


def _close(session: Session, query: Any, how: Closed, at: datetime) -> tuple[tuple[int, int], ...]:
    closed = []
    for missed, user_id in session.execute(query).all():
        missed.missed_closed_at = at
        missed.missed_closed_how = how
        closed.append((missed.id, user_id))
    return tuple(closed)


def close_when_reached(session: Session, call: Call) -> tuple[tuple[int, int], ...]:
    """A connected call reached the number: every open missed call from it, on any line, is
    closed (as called back, or as answered when the caller rang again). Returns the closed
    calls as (call id, owner's user id), for the journal to show."""
    if call.connected_at is None or not (call.remote_e164 or call.remote_number):
        return ()
    same_number = (
        Call.remote_e164 == call.remote_e164
        if call.remote_e164
        else Call.remote_number == call.remote_number
    )
    query = (
        select(Call, Line.user_id)
        .join(Line, Call.line_id == Line.id)
        .where(
            is_open_missed(), same_number, Call.id != call.id, Call.started_at < call.connected_at
        )
    )
    how: Closed = "called_back" if call.direction == Direction.OUTGOING.value else "answered"
    return _close(session, query, how, call.connected_at)


def mark_done(session: Session, call: Call) -> tuple[tuple[int, int], ...]:
    """The user says the missed call needs nothing more: it is closed, and so are the legs of
    the same call that rang on colleagues' lines (a ring group)."""
    query = (
        select(Call, Line.user_id)
        .join(Line, Call.line_id == Line.id)
        .where(
            is_open_missed(),
            Call.call_ref == call.call_ref,
            Line.phone_system_id == call.line.phone_system_id,
        )
    )
    return _close(session, query, "done", utcnow())
