"""The sums of calls (`offhook.store.call_sums`) kept up to date in the same transaction as
whatever changes what they count: calls (the recorder, reconciliation, a chosen address),
services made of calls, "not billable" marks, projects (who is a client), an address's
company, and deleted addresses, lines and phone systems.

Kept by every session of the process (SQLAlchemy events): the write paths are many (the
recorder's batches, the pages, the API, the demo) and a sum that one of them forgot would be
wrong for good. Before each flush the keys (line and local day, address and day) of what
changes are noted, as they were and as they will be; just before the transaction commits
the sums of those keys are recomputed from the calls, once. (Within the transaction the sums
are not yet up to date: nothing reads them there.) Statements that bypass the session's
objects (bulk inserts and deletes) must be followed by `call_sums.refresh` of their keys or
by `call_sums.rebuild`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, inspect, or_, select
from sqlalchemy.orm import Session

from offhook.store import call_sums
from offhook.store.models import (
    Address,
    Call,
    CallDaySum,
    CallHourSum,
    Line,
    NotBillable,
    PhoneSystem,
    Project,
    Service,
)

# What a call's sums depend on: a change of anything else (its name, who closed it) is free.
_CALL_FIELDS = (
    "line_id",
    "started_at",
    "direction",
    "state",
    "end_reason",
    "connected_at",
    "ended_at",
    "address_id",
    "remote_e164",
)
_PENDING = "offhook.call_sums"


@dataclass(frozen=True, slots=True)
class _CallKey:
    line_id: int
    started_at: datetime
    address_id: int | None
    outgoing_to: str | None  # the number, when the call is outgoing: it may call missed calls back


@dataclass(slots=True)
class _Pending:
    calls: set[_CallKey] = field(default_factory=set)
    call_ids: set[int] = field(default_factory=set)  # services and marks: their calls
    clients: set[int] = field(default_factory=set)  # addresses whose client status may change
    line_days: set[tuple[int, int]] = field(default_factory=set)
    address_days: set[tuple[int, int]] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(
            self.calls or self.call_ids or self.clients or self.line_days or self.address_days
        )


def _key(values: dict[str, Any]) -> _CallKey | None:
    if values["line_id"] is None or values["started_at"] is None:
        return None
    outgoing = values["direction"] == "outgoing" and values["remote_e164"]
    return _CallKey(
        values["line_id"],
        values["started_at"],
        values["address_id"],
        values["remote_e164"] if outgoing else None,
    )


def _now_and_before(
    obj: Any, names: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The values of `names` as they will be and as they were, and whether any changed."""
    state = inspect(obj)
    now: dict[str, Any] = {}
    before: dict[str, Any] = {}
    changed = False
    for name in names:
        history = state.attrs[name].history
        now[name] = state.dict.get(name)
        before[name] = history.deleted[0] if history.deleted else now[name]
        changed = changed or history.has_changes()
    return now, before, changed


def _sums_zone(session: Session) -> ZoneInfo | None:
    name = call_sums.sums_zone(session.connection())
    return ZoneInfo(name) if name else None


@event.listens_for(Session, "before_flush")
def _note(session: Session, _context: Any, _instances: Any) -> None:
    pending: _Pending = session.info.setdefault(_PENDING, _Pending())
    for obj in session.new:
        if isinstance(obj, Call):
            key = _key({name: getattr(obj, name, None) for name in _CALL_FIELDS})
            if key:
                pending.calls.add(key)
        elif isinstance(obj, (Service, NotBillable)) and obj.call_id is not None:
            pending.call_ids.add(obj.call_id)
        elif isinstance(obj, Project) and obj.customer_id is not None:
            pending.clients.add(obj.customer_id)
    for obj in session.dirty:
        if isinstance(obj, Call):
            now, before, changed = _now_and_before(obj, _CALL_FIELDS)
            if changed:
                for values in (now, before):
                    key = _key(values)
                    if key:
                        pending.calls.add(key)
        elif isinstance(obj, Service):
            now, before, changed = _now_and_before(obj, ("call_id", "minutes"))
            if changed:
                pending.call_ids.update(v for v in (now["call_id"], before["call_id"]) if v)
        elif isinstance(obj, Project):
            now, before, changed = _now_and_before(obj, ("customer_id",))
            if changed:
                pending.clients.update(v for v in (now["customer_id"], before["customer_id"]) if v)
        elif isinstance(obj, Address):
            now, before, changed = _now_and_before(obj, ("company_id",))
            if changed:
                pending.clients.add(obj.id)
    deleted = list(session.deleted)
    for obj in deleted:
        if isinstance(obj, Call):
            key = _key({name: getattr(obj, name, None) for name in _CALL_FIELDS})
            if key:
                pending.calls.add(key)
        elif isinstance(obj, (Service, NotBillable)) and obj.call_id is not None:
            pending.call_ids.add(obj.call_id)
        elif isinstance(obj, Project) and obj.customer_id is not None:
            pending.clients.add(obj.customer_id)
    # What the database deletes or clears by itself (ON DELETE): noted while it is there.
    gone_addresses = [obj.id for obj in deleted if isinstance(obj, Address)]
    gone_lines = [obj.id for obj in deleted if isinstance(obj, Line)]
    gone_systems = [obj.id for obj in deleted if isinstance(obj, PhoneSystem)]
    if gone_systems:  # its lines go with it in the database (passive deletes)
        gone_lines += session.connection().scalars(
            select(Line.id).where(Line.phone_system_id.in_(gone_systems))
        )
    if gone_addresses or gone_lines:
        zone = _sums_zone(session)
        if zone is None:
            return
        connection = session.connection()
        # A deleted company leaves its contact persons without one: no client any more.
        contacts = select(Address.id).where(Address.company_id.in_(gone_addresses))
        where = or_(
            Call.address_id.in_(gone_addresses),
            Call.address_id.in_(contacts),
            Call.line_id.in_(gone_lines),
        )
        lines, addresses = call_sums.line_days_of_calls(connection, zone, where)
        pending.line_days |= lines
        pending.address_days |= addresses
        for model in (CallDaySum, CallHourSum):
            found = connection.execute(
                select(model.line_id, model.day).where(model.line_id.in_(gone_lines))
            )
            pending.line_days |= {(line_id, day) for line_id, day in found}


@event.listens_for(Session, "before_commit")
def _keep(session: Session) -> None:
    """Recompute the sums of what the transaction changed, once, just before it commits: a
    batch of call events flushes many times (each caller lookup flushes the calls before it),
    and the sums of a key are computed once however often its calls changed."""
    if session.new or session.dirty or session.deleted:
        session.flush()  # what is still pending is noted too
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    zone = _sums_zone(session)
    if zone is None:
        return
    connection = session.connection()
    line_days, address_days = pending.line_days, pending.address_days
    for key in pending.calls:
        day = call_sums.local_day(key.started_at, zone)
        line_days.add((key.line_id, day))
        if key.address_id is not None:
            address_days.add((key.address_id, day))
        if key.outgoing_to:
            line_days |= call_sums.missed_before(connection, zone, key.outgoing_to, key.started_at)
    if pending.call_ids:
        lines, _ = call_sums.line_days_of_calls(
            connection, zone, Call.id.in_(sorted(pending.call_ids))
        )
        line_days |= lines
    if pending.clients:
        people = select(Address.id).where(
            or_(Address.id.in_(pending.clients), Address.company_id.in_(pending.clients))
        )
        lines, _ = call_sums.line_days_of_calls(connection, zone, Call.address_id.in_(people))
        line_days |= lines
    call_sums.refresh(connection, zone, line_days, address_days)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
