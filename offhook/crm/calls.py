"""The call history: every call ever made or received on a user's lines, and what a call
says about itself in words (for the texts of activities and services)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from offhook.calls import labels
from offhook.crm.forms import parse_clock, parse_day
from offhook.crm.paging import Page, fetch_page
from offhook.crm.queries import LIKE_ESCAPE, escape_like
from offhook.journal import entries as journal
from offhook.journal.entry import JournalEntry
from offhook.numbers import NumberKind, parse
from offhook.settings.clock import date_text, duration_text, time_text
from offhook.settings.language import _
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store.models import (
    Activity,
    Address,
    Call,
    CallEventRecord,
    Line,
    NotBillable,
    Service,
    User,
)


def outcome(entry: JournalEntry) -> tuple[str, str]:
    """The kind of a call's outcome (for its CSS class) and its label, from its journal entry."""
    kind, label = labels.outcome(entry.state, entry.end_reason)
    return kind, labels.answered_by_text(label, entry.answered_by)


def caller_name(entry: JournalEntry) -> str:
    """Who was on the other end, as well as offhook knows it."""
    if entry.address:
        return entry.address.name
    if entry.colleague:
        return entry.colleague.name
    return entry.remote_name or ""


def number_text(entry: JournalEntry) -> str:
    if entry.number.kind == "withheld":
        return _("a withheld number")
    return entry.number.display or entry.number.raw or _("an unknown number")


def subject(entry: JournalEntry) -> str:
    """The activity's subject, in the user's language (as is everything written for them)."""
    if entry.missed:
        return _(labels.MISSED_CALL)
    return _(labels.call_label(entry.direction))


def _when(entry: JournalEntry) -> tuple[str, str]:
    """The entry's day and time (kept in the firm's zone, as forms hold them) in the user's
    locale."""
    day, clock = parse_day(entry.date), parse_clock(entry.time)
    if day is None or clock is None:
        return entry.date, entry.time
    return date_text(day), time_text(datetime.combine(day, clock))


def summary(entry: JournalEntry) -> str:
    """A call in one sentence, for the text of an activity or service: "Incoming call on
    26.11.2026 at 09:41 from 044 668 18 12 (Anna Müller, Muster AG), lasting 4:12." """
    day, clock = _when(entry)
    towards = (
        _("{call} on {day} at {time} from {number}")
        if entry.direction == "incoming"
        else _("{call} on {day} at {time} to {number}")
    )
    text = towards.format(call=subject(entry), day=day, time=clock, number=number_text(entry))
    name = caller_name(entry)
    if name:
        text += f" ({name})"
    if entry.duration is not None and entry.state == "ended":
        text += _(", lasting {duration}").format(duration=duration_text(entry.duration))
    elif entry.state == "ended" and not entry.missed and entry.end_reason_label:
        text += f", {labels.answered_by_text(entry.end_reason_label.lower(), entry.answered_by)}"
    return text + "."


def entry_of(session: Session, call: Call, settings: TelephonySettings) -> JournalEntry:
    """The call as the journal shows it: the same number and name everywhere."""
    return journal.entries(session, [call], settings)[0]


# --- the history ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallFilter:
    user_id: int
    first: date | None = None
    last: date | None = None
    direction: str = ""
    outcome: str = ""
    q: str = ""


def local_midnight(day: date, settings: TelephonySettings) -> datetime:
    return datetime.combine(day, time(0), settings.zone).astimezone(UTC)


def _outcome_clause(value: str) -> ColumnElement[bool] | None:
    if value == "open":
        return Call.state != "ended"
    if value in labels.END_REASON_LABELS:
        return (Call.state == "ended") & (Call.end_reason == value)
    return None


def _text_clause(q: str, settings: TelephonySettings) -> ColumnElement[bool]:
    """Calls whose number or name fits `q`: the number in any way it may be written, the
    caller ID name, or the name of the address found for it."""
    pattern = f"%{escape_like(q)}%"
    clauses: list[ColumnElement[bool]] = [
        Call.remote_name.ilike(pattern, escape=LIKE_ESCAPE),
        Address.first_name.ilike(pattern, escape=LIKE_ESCAPE),
        Address.last_name.ilike(pattern, escape=LIKE_ESCAPE),
        Address.company_name.ilike(pattern, escape=LIKE_ESCAPE),
    ]
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 3:
        clauses.append(Call.remote_number.like(f"%{digits}%"))
        parsed = parse(q, numbering_plan(settings))
        if parsed.kind is NumberKind.EXTERNAL and parsed.e164:
            clauses.append(Call.remote_e164 == parsed.e164)
    return or_(*clauses)


def history_query(flt: CallFilter, settings: TelephonySettings) -> Select[Any]:
    lines = select(Line.id).where(Line.user_id == flt.user_id)
    query = select(Call).where(Call.line_id.in_(lines))
    if flt.first:
        query = query.where(Call.started_at >= local_midnight(flt.first, settings))
    if flt.last:
        query = query.where(
            Call.started_at < local_midnight(flt.last + timedelta(days=1), settings)
        )
    if flt.direction in labels.DIRECTION_LABELS:
        query = query.where(Call.direction == flt.direction)
    if (clause := _outcome_clause(flt.outcome)) is not None:
        query = query.where(clause)
    if flt.q:
        query = query.outerjoin(Address, Call.address_id == Address.id).where(
            _text_clause(flt.q, settings)
        )
    return journal.with_details(query).order_by(Call.started_at.desc(), Call.id.desc())


def history(
    session: Session, flt: CallFilter, settings: TelephonySettings, number: int
) -> Page[JournalEntry]:
    page = fetch_page(session, history_query(flt, settings), number)
    return Page(
        journal.entries(session, page.items, settings), page.number, page.size, page.has_next
    )


def users(session: Session) -> list[User]:
    """Everybody an admin may look at the calls of."""
    return list(session.scalars(select(User).order_by(User.name)))


# --- one call ------------------------------------------------------------------------------------


def find_call(session: Session, call_id: int, user_id: int, is_admin: bool) -> Call | None:
    """The call if it is on the user's lines; any call for an admin."""
    if is_admin:
        call: Call | None = session.scalar(
            journal.with_details(select(Call)).where(Call.id == call_id)
        )
        return call
    return journal.user_call(session, user_id, call_id)


def detail(session: Session, call: Call, settings: TelephonySettings) -> dict[str, Any]:
    """Everything the call page shows: the entry, the event log and the work made of it."""
    events = list(
        session.scalars(
            select(CallEventRecord)
            .where(CallEventRecord.call_id == call.id)
            .order_by(CallEventRecord.received_at, CallEventRecord.id)
        )
    )
    activities = list(
        session.scalars(select(Activity).where(Activity.call_id == call.id).order_by(Activity.id))
    )
    services = list(
        session.scalars(select(Service).where(Service.call_id == call.id).order_by(Service.id))
    )
    return {
        "call": call,
        "entry": entry_of(session, call, settings),
        "events": events,
        "activities": activities,
        "services": services,
        "not_billable": session.get(NotBillable, call.id),
        "owner": call.line.user.name if call.line and call.line.user else "",
        "outcomes": labels.OUTCOME_LABELS,
        "hangups": labels.HANGUP_LABELS,
    }
