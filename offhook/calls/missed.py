"""Missed calls are work: an incoming call nobody answered stays open until someone reaches the
caller (a call back, or the caller's next call, answered) or marks it done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, or_, select
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


@dataclass(frozen=True, slots=True)
class Reached:
    """A call connected in a batch of call events, as it was when it connected."""

    call: Call  # not flushed yet, maybe: no id
    e164: str | None
    number: str
    connected_at: datetime
    how: Closed
    #: Where it connected in the batch: a missed call the batch made missed later is not its.
    index: int


def reached(call: Call, index: int) -> Reached | None:
    """What `close_reached` needs of a call that just connected; None if it closes nothing."""
    if call.connected_at is None or not (call.remote_e164 or call.remote_number):
        return None
    how: Closed = "called_back" if call.direction == Direction.OUTGOING.value else "answered"
    return Reached(call, call.remote_e164, call.remote_number or "", call.connected_at, how, index)


def close_reached(
    session: Session, reached: list[Reached], missed_at: dict[int, int]
) -> dict[int, tuple[tuple[int, int], ...]]:
    """A connected call reached the number: every open missed call from it, on any line, is
    closed (as called back, or as answered when the caller rang again).

    Done for all the calls a batch connected in one query (one per connected call, with the
    flush each set off, was the most expensive part of recording a batch). Each closes what it
    would have closed had it been recorded alone, in the batch's order:
    the missed calls from its number that started before it connected, except those the batch
    made missed only after it (`missed_at`: `id()` of the call object → where in the batch it
    became missed), and not those an earlier call of the batch closed. The batch's calls must
    be flushed (and held: the session's identity map gives back the same objects).
    Returns the closed calls (call id, owner's user id) by the index of the call that closed
    them."""
    if not reached:
        return {}
    e164s = {r.e164 for r in reached if r.e164}
    numbers = {r.number for r in reached if not r.e164}
    same_numbers = []
    if e164s:
        same_numbers.append(Call.remote_e164.in_(e164s))
    if numbers:
        same_numbers.append(Call.remote_number.in_(numbers))
    rows = session.execute(
        select(Call, Line.user_id)
        .join(Line, Call.line_id == Line.id)
        .where(is_open_missed(), or_(*same_numbers))
        .order_by(Call.id)
    ).all()
    closed: dict[int, tuple[tuple[int, int], ...]] = {}
    for r in reached:
        done = []
        for missed, user_id in rows:
            same = missed.remote_e164 == r.e164 if r.e164 else missed.remote_number == r.number
            if (
                same
                and missed.missed_closed_at is None
                and missed is not r.call
                and missed.started_at < r.connected_at
                and missed_at.get(id(missed), -1) < r.index
            ):
                missed.missed_closed_at = r.connected_at
                missed.missed_closed_how = r.how
                done.append((missed.id, user_id))
        closed[r.index] = tuple(done)
    return closed


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
