"""The telephony journal: a user's calls of the current day, as the browser shows them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session, joinedload

from offhook.calls import labels
from offhook.calls.events import CallState, Direction
from offhook.calls.missed import is_open_missed
from offhook.directory.names import display_name, full_address
from offhook.drivers.registry import available_drivers
from offhook.journal.entry import (
    EntryAddress,
    EntryCapabilities,
    EntryColleague,
    EntryLine,
    EntryNumber,
    Icon,
    JournalEntry,
)
from offhook.numbers import NumberKind, dial_string, display, parse_incoming
from offhook.settings.clock import call_seconds, field_date, field_time
from offhook.settings.telephony import SettingsCache, TelephonySettings, numbering_plan
from offhook.store.models import Activity, Address, Call, Line, NotBillable, Service

# The open missed calls of earlier days a journal shows at most (the newest).
OPEN_MISSED_SHOWN = 100


def icon(call: Call) -> Icon:
    if call.state in ("ringing", "dialling"):
        return "ringing"
    if call.state == "connected":
        return "ongoing"
    return "incoming" if call.direction == "incoming" else "outgoing"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def entry(
    call: Call,
    settings: TelephonySettings,
    *,
    capabilities: tuple[bool, bool, bool] | None = None,
    worked: tuple[int | None, int | None] = (None, None),
    not_billable: bool = False,
) -> JournalEntry:
    """One journal entry; every text in it is plain text for whoever shows it to escape."""
    plan = numbering_plan(settings)
    parsed = parse_incoming(call.remote_number, plan)
    as_entered = call.channel.value if call.channel is not None and call.address_id else None
    can_dial, can_answer, can_hangup = capabilities or _capabilities(call.line)
    dialable = parsed.kind in (NumberKind.EXTERNAL, NumberKind.INTERNAL)
    open_ = call.state != "ended"
    address = None
    if call.address is not None:
        address = EntryAddress(
            id=call.address.id,
            name=display_name(call.address),
            full_address=full_address(call.address, settings.country),
            match=call.match,
            chosen=call.address_chosen,
        )
    colleague = (
        EntryColleague(id=call.colleague.id, name=call.colleague.name) if call.colleague else None
    )
    duration = None
    if call.connected_at:
        duration = call_seconds(call.connected_at, call.ended_at or datetime.now(UTC))
    activity_id, service_id = worked
    kind = icon(call)
    missed = call.direction == "incoming" and call.end_reason == "missed"
    missed_open = missed and call.missed_closed_at is None
    return JournalEntry(
        id=call.id,
        line=EntryLine(id=call.line.id, title=call.line.title),
        direction=Direction(call.direction),
        state=CallState(call.state),
        icon=kind,
        icon_label=labels.ICON_LABELS[kind],
        end_reason=call.end_reason,
        end_reason_label=labels.end_reason_label(call.end_reason),
        missed=call.direction == "incoming" and call.end_reason == "missed",
        missed_open=missed_open,
        missed_closed=call.missed_closed_how if missed else None,
        started_at=call.started_at.astimezone(UTC).isoformat(),
        connected_at=_iso(call.connected_at),
        ended_at=_iso(call.ended_at),
        time=field_time(call.started_at, settings.zone),
        date=field_date(call.started_at, settings.zone),
        duration=duration,
        number=EntryNumber(
            raw=call.remote_number,
            display=display(parsed, plan, as_entered),
            e164=parsed.e164,
            kind=parsed.kind,
            dial=dial_string(parsed, plan) if dialable else None,
        ),
        remote_name=call.remote_name,
        address=address,
        colleague=colleague,
        # Loaded only for the few calls a colleague answered: no join on every entry for it.
        answered_by=call.answered_by.name if call.answered_by_id and call.answered_by else None,
        answer_note=labels.ANSWER_ON_THE_PHONE
        if call.state == "ringing" and call.direction == "incoming" and not can_answer
        else None,
        match_count=call.match_count,
        ended_by_offhook=call.ended_by_offhook,
        activity_id=activity_id,
        service_id=service_id,
        not_billable=not_billable,
        can=EntryCapabilities(
            dial=dialable and can_dial,
            tel=dialable and not can_dial,
            answer=can_answer and call.state == "ringing",
            hangup=can_hangup and open_,
            create_address=parsed.kind is NumberKind.EXTERNAL and call.address is None,
            choose_address=call.match_count > 1,
            activity=True,
            service=call.state == "ended" and call.connected_at is not None,
            # A ring-group call a colleague answered needs no call back from here.
            call_back=call.state == "ended"
            and call.connected_at is None
            and call.end_reason != "answered_elsewhere"
            and dialable,
            mark_done=missed_open,
        ),
    )


def _capabilities(line: Line) -> tuple[bool, bool, bool]:
    info = available_drivers().get(line.driver)
    if info is None or info.driver is None:
        return (False, False, False)
    cls = info.driver
    return (cls.can_dial, cls.can_answer, cls.can_hangup)


# Both kinds of work done on calls in one round trip: 0 = activity, 1 = service, and 2 = marked
# "not billable" (offhook.crm.unbilled). Built once: this runs for every call event the server
# pushes.
_WORK_DONE: CompoundSelect[Any] = union_all(
    select(Activity.call_id, literal(0).label("kind"), Activity.id).where(
        Activity.call_id.in_(bindparam("call_ids", expanding=True))
    ),
    select(Service.call_id, literal(1).label("kind"), Service.id).where(
        Service.call_id.in_(bindparam("call_ids", expanding=True))
    ),
    select(NotBillable.call_id, literal(2).label("kind"), NotBillable.call_id).where(
        NotBillable.call_id.in_(bindparam("call_ids", expanding=True))
    ),
)


def _work_done(
    session: Session, call_ids: list[int]
) -> dict[int, tuple[int | None, int | None, int | None]]:
    """The newest activity and service entered for each call, to mark the entry as done, and
    whether it was marked "not billable"."""
    if not call_ids:
        return {}
    done: dict[int, list[int | None]] = {call_id: [None, None, None] for call_id in call_ids}
    for call_id, kind, work_id in session.execute(_WORK_DONE, {"call_ids": call_ids}):
        if call_id is None:  # pragma: no cover - the query asks for these calls only
            continue
        current = done[call_id][kind]
        if current is None or work_id > current:
            done[call_id][kind] = work_id
    return {key: (value[0], value[1], value[2]) for key, value in done.items()}


def with_details(query: Select[Any]) -> Select[Any]:
    """Load what an entry (and a row of the call history) shows in the same query: no lazy
    load per call."""
    return query.options(
        joinedload(Call.line),
        joinedload(Call.address).joinedload(Address.company),
        joinedload(Call.channel),
        joinedload(Call.colleague),
    )


# The statement for one call, built once (it runs for every call event the server pushes).
_ONE_CALL = with_details(select(Call)).where(Call.id == bindparam("call_id"))


def _calls_query(user_id: int) -> Select[Call]:
    return _many_calls_query(Line.user_id == user_id)


def _many_calls_query(of_users: ColumnElement[bool]) -> Select[Call]:
    return with_details(select(Call).join(Line, Call.line_id == Line.id).where(of_users))


def entries(session: Session, calls: list[Call], settings: TelephonySettings) -> list[JournalEntry]:
    done = _work_done(session, [call.id for call in calls])
    nothing = (None, None, None)
    return [
        entry(
            call,
            settings,
            worked=done.get(call.id, nothing)[:2],
            not_billable=done.get(call.id, nothing)[2] is not None,
        )
        for call in calls
    ]


def today(session: Session, user_id: int, now: datetime | None = None) -> list[JournalEntry]:
    """The user's journal: calls on their lines that started today, newest first, then calls
    still open from before (going on, or missed and not called back yet)."""
    return today_of_many(session, [user_id], now)[user_id]


def today_of_many(
    session: Session, user_ids: list[int], now: datetime | None = None
) -> dict[int, list[JournalEntry]]:
    """`today` for several users in the same few queries: thousands of journals opening at
    once (a server started, Redis back) would otherwise cost a handful of queries each."""
    settings = SettingsCache.get(session)
    start, end = settings.local_day_bounds(now)
    users = list(dict.fromkeys(user_ids))
    of_users = Line.user_id.in_(users)
    calls = list(
        session.scalars(
            _many_calls_query(of_users)
            .where(Call.started_at >= start, Call.started_at < end)
            .order_by(Call.started_at.desc(), Call.id.desc())
        ).unique()
    )
    # Calls still open from before midnight belong on today's journal too.
    calls += session.scalars(
        _many_calls_query(of_users)
        .where(Call.started_at < start, Call.state != "ended")
        .order_by(Call.started_at.desc())
    ).unique()
    # So are missed calls of earlier days nobody has called back yet: they are open work (the
    # newest OPEN_MISSED_SHOWN of each user).
    ranked = (
        select(
            Call.id,
            func.row_number()
            .over(partition_by=Line.user_id, order_by=(Call.started_at.desc(), Call.id.desc()))
            .label("rank"),
        )
        .join(Line, Call.line_id == Line.id)
        .where(of_users, Call.started_at < start, is_open_missed())
        .subquery()
    )
    calls += session.scalars(
        with_details(select(Call))
        .join(ranked, ranked.c.id == Call.id)
        .where(ranked.c.rank <= OPEN_MISSED_SHOWN)
        .order_by(Call.started_at.desc(), Call.id.desc())
    ).unique()
    shown: dict[int, list[JournalEntry]] = {user_id: [] for user_id in users}
    for call, shown_entry in zip(calls, entries(session, calls, settings), strict=True):
        shown[call.line.user_id].append(shown_entry)
    return shown


def one(session: Session, call_id: int) -> JournalEntry | None:
    call = session.scalar(_ONE_CALL, {"call_id": call_id})
    if call is None:
        return None
    return entries(session, [call], SettingsCache.get(session))[0]


# The statement for the calls of a batch of call events, built once.
_SOME_CALLS = with_details(select(Call)).where(Call.id.in_(bindparam("call_ids", expanding=True)))


def many(session: Session, call_ids: list[int]) -> list[JournalEntry]:
    """The entries of these calls (those that exist), in one round trip for the calls."""
    if not call_ids:
        return []
    calls = list(session.scalars(_SOME_CALLS, {"call_ids": call_ids}).unique())
    return entries(session, calls, SettingsCache.get(session))


def user_call(session: Session, user_id: int, call_id: int) -> Call | None:
    """A call on one of the user's lines; None for anybody else's call."""
    return session.scalar(_calls_query(user_id).where(Call.id == call_id))
