"""The figures behind the charts of unbilled calls: what the firm's phone time is worth and
when the phones ring. Each figure is grouped by the database in one pass over the period's
calls (see `offhook.store.local_time` for the firm's weeks and hours in SQL).

- per week and per user: connected calls with clients, their time, the minutes booked as
  services made of them, and how many of them are still unbooked (`offhook.crm.unbilled`);
- incoming calls per hour of the day and per weekday, and how many of them were missed;
- missed calls and how soon somebody of the firm called the number back (any outgoing call to
  it, on anybody's line: the client was called back, whoever did it);
- top callers: the addresses with the most calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from offhook.crm.unbilled import AnySelect, client_calls, lines_of, scoped
from offhook.directory.names import display_name
from offhook.settings.language import N_
from offhook.settings.telephony import TelephonySettings
from offhook.store import call_sums
from offhook.store.call_sums import (
    booked_clause,
    connected_clause,
    marked_clause,
    seconds_connected,
)
from offhook.store.local_time import (
    epoch,
    hour_of,
    local_midnight,
    local_seconds,
    week_number,
    week_of,
    week_start,
    weekday_of,
)
from offhook.store.models import (
    Address,
    Call,
    CallDaySum,
    CallerBlockSum,
    CallerDaySum,
    CallHourSum,
    Line,
    Service,
    User,
)

WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
CALLBACK_WINDOW = call_sums.CALLBACK_WINDOW
# (upper bound in seconds, label): how soon a missed call was called back; the bounds are
# those of the sums' columns (`call_sums.CALLBACK_COLUMNS`).
CALLBACK_LABELS = (
    N_("within 15 minutes"),
    N_("within an hour"),
    N_("within 4 hours"),
    N_("within a day"),
    N_("within a week"),
)
CALLBACK_BUCKETS = tuple(
    (bound, label)
    for (_, bound), label in zip(call_sums.CALLBACK_COLUMNS, CALLBACK_LABELS, strict=True)
)
NOT_CALLED_BACK = N_("not called back")
WITHHELD = N_("no number to call back")
TOP_CALLERS = 10


@dataclass(frozen=True, slots=True)
class FiguresFilter:
    """Whose calls (None: the whole firm's) of which local days, both included."""

    user_id: int | None
    first: date
    last: date


@dataclass(slots=True)
class ClientTime:
    """Connected calls with clients, their time and what was booked of them."""

    calls: int = 0
    seconds: int = 0
    booked_minutes: int = 0
    unbooked: int = 0


@dataclass(frozen=True, slots=True)
class WeekRow:
    week: date  # its Monday
    time: ClientTime


@dataclass(frozen=True, slots=True)
class UserRow:
    user_id: int
    name: str
    time: ClientTime


@dataclass(frozen=True, slots=True)
class RingRow:
    label: str
    incoming: int
    missed: int


@dataclass(frozen=True, slots=True)
class CallbackRow:
    label: str
    calls: int


@dataclass(frozen=True, slots=True)
class CallerRow:
    address_id: int
    name: str
    calls: int
    seconds: int


class _Period:
    """The filter's days as instants, and the firm's local seconds of a call's start."""

    def __init__(self, session: Session, flt: FiguresFilter, settings: TelephonySettings) -> None:
        self.lines = lines_of(session, flt.user_id)
        self.start = local_midnight(flt.first, settings.zone)
        self.end = local_midnight(flt.last + timedelta(days=1), settings.zone)
        self.local = local_seconds(Call.started_at, self.start, self.end, settings.zone)

    def held(self, query: AnySelect) -> AnySelect:
        query = query.where(Call.started_at >= self.start, Call.started_at < self.end)
        return scoped(query, self.lines)


def _client_time(
    session: Session, flt: FiguresFilter, period: _Period, key: ColumnElement[Any] | None
) -> dict[Any, ClientTime]:
    """ClientTime by `key` (a week), or by user without one (the lines joined). Grouped
    outside a subquery: PostgreSQL would not see that the same expression with its own
    parameters is the one grouped by."""

    by_user = key is None
    grouped: Any = Line.user_id if key is None else key

    def base(*columns: Any) -> AnySelect:
        query = select(*columns).select_from(Call)
        return query.join(Line, Line.id == Call.line_id) if by_user else query

    unbooked = case((~booked_clause() & ~marked_clause(), 1), else_=0)
    inner = period.held(
        client_calls(
            base(
                grouped.label("key"),
                seconds_connected().label("seconds"),
                unbooked.label("unbooked"),
            )
        ),
    ).subquery()
    totals: dict[Any, ClientTime] = {}
    query = select(
        inner.c.key, func.count(), func.sum(inner.c.seconds), func.sum(inner.c.unbooked)
    ).group_by(inner.c.key)
    for group, calls, seconds, open_ in session.execute(query):
        totals[group] = ClientTime(int(calls), int(seconds or 0), 0, int(open_ or 0))
    booked = period.held(
        client_calls(
            base(grouped.label("key"), Service.minutes.label("minutes")).join(
                Service, Service.call_id == Call.id
            )
        ),
    ).subquery()
    sums = select(booked.c.key, func.sum(booked.c.minutes)).group_by(booked.c.key)
    for group, minutes in session.execute(sums):
        totals.setdefault(group, ClientTime()).booked_minutes = int(minutes or 0)
    return totals


def weeks_counted(
    session: Session, flt: FiguresFilter, settings: TelephonySettings
) -> list[WeekRow]:
    """Every week of the period (Monday to Sunday), empty ones too, oldest first."""
    period = _Period(session, flt, settings)
    totals = _client_time(session, flt, period, week_of(period.local))
    first, last = week_number(flt.first), week_number(flt.last)
    return [
        WeekRow(week_start(week), totals.get(week, ClientTime())) for week in range(first, last + 1)
    ]


def users_counted(
    session: Session, flt: FiguresFilter, settings: TelephonySettings
) -> list[UserRow]:
    """Each user with calls with clients in the period, by name."""
    period = _Period(session, flt, settings)
    totals = _client_time(session, flt, period, None)
    found = session.execute(select(User.id, User.name).where(User.id.in_(list(totals) or [0])))
    names = {user_id: name for user_id, name in found}
    rows = [UserRow(user_id, names.get(user_id, "?"), time) for user_id, time in totals.items()]
    return sorted(rows, key=lambda row: (row.name.casefold(), row.user_id))


def total(rows: list[WeekRow]) -> ClientTime:
    result = ClientTime()
    for row in rows:
        result.calls += row.time.calls
        result.seconds += row.time.seconds
        result.booked_minutes += row.time.booked_minutes
        result.unbooked += row.time.unbooked
    return result


def ringing_counted(
    session: Session, flt: FiguresFilter, settings: TelephonySettings
) -> tuple[list[RingRow], list[RingRow]]:
    """Incoming calls and the missed ones among them, per hour of the day and per weekday
    (the firm's local time): when to staff the phones."""
    period = _Period(session, flt, settings)
    missed = case((Call.end_reason == "missed", 1), else_=0)
    inner = period.held(
        select(
            hour_of(period.local).label("hour"),
            weekday_of(period.local).label("weekday"),
            missed.label("missed"),
        ).where(Call.direction == "incoming"),
    ).subquery()
    query = select(inner.c.weekday, inner.c.hour, func.count(), func.sum(inner.c.missed)).group_by(
        inner.c.weekday, inner.c.hour
    )
    hours = [[0, 0] for _ in range(24)]
    days = [[0, 0] for _ in range(7)]
    for weekday, hour, calls, missed_calls in session.execute(query):
        for slot in (hours[int(hour)], days[int(weekday)]):
            slot[0] += int(calls)
            slot[1] += int(missed_calls or 0)
    by_hour = [RingRow(f"{hour:02d}:00", *hours[hour]) for hour in range(24)]
    by_day = [RingRow(WEEKDAYS[day], *days[day]) for day in range(7)]
    return by_hour, by_day


def callbacks_counted(
    session: Session, flt: FiguresFilter, settings: TelephonySettings
) -> list[CallbackRow]:
    """Missed calls of the period by how soon their number was called back."""
    period = _Period(session, flt, settings)
    later = aliased(Call)
    first_callback = (
        select(func.min(later.started_at))
        .where(
            later.remote_e164 == Call.remote_e164,
            later.direction == "outgoing",
            later.started_at > Call.started_at,
        )
        .scalar_subquery()
    )
    inner = period.held(
        select(
            Call.remote_e164.is_(None).label("withheld"),
            (epoch(first_callback) - epoch(Call.started_at)).label("delay"),
        ).where(Call.direction == "incoming", Call.end_reason == "missed"),
    ).subquery()
    whens: list[tuple[ColumnElement[bool], Any]] = [(inner.c.withheld, literal(WITHHELD))]
    whens.append((inner.c.delay.is_(None), literal(NOT_CALLED_BACK)))
    whens += [(inner.c.delay <= bound, literal(label)) for bound, label in CALLBACK_BUCKETS]
    bucket = case(*whens, else_=literal(NOT_CALLED_BACK)).label("bucket")
    # Grouped outside one more subquery, for PostgreSQL (see `_client_time`).
    labelled = select(bucket).subquery()
    grouped = select(labelled.c.bucket, func.count()).group_by(labelled.c.bucket)
    found = {str(label): int(count) for label, count in session.execute(grouped)}
    labels = [label for _, label in CALLBACK_BUCKETS] + [NOT_CALLED_BACK, WITHHELD]
    return [CallbackRow(label, found.get(label, 0)) for label in labels]


def top_callers_counted(
    session: Session, flt: FiguresFilter, settings: TelephonySettings
) -> list[CallerRow]:
    """The addresses with the most calls in the period (both directions), with their
    connected time."""
    period = _Period(session, flt, settings)
    connected = case((connected_clause(), seconds_connected()), else_=0)
    query = (
        period.held(
            select(Call.address_id, func.count().label("calls"), func.sum(connected)).where(
                Call.address_id.is_not(None)
            ),
        )
        .group_by(Call.address_id)
        .order_by(func.count().desc(), Call.address_id)
        .limit(TOP_CALLERS)
    )
    return _callers(session, session.execute(query).all())


# --- from the sums of calls -----------------------------------------------------------------
# What the pages call. Each reads the sums of calls per line and local day (a few hundred rows
# for the firm's year, see `offhook.store.call_sums`) while they are in the firm's zone, and
# counts the calls themselves (the functions above) while they are not (just after the zone
# was changed, before the sums were rebuilt).


def _summed(session: Session, settings: TelephonySettings) -> bool:
    return call_sums.sums_zone(session.connection()) == settings.timezone


def _sum_lines(session: Session, user_id: int | None) -> list[int]:
    lines = lines_of(session, user_id)
    return [call_sums.FIRM] if lines is None else lines


def _days(flt: FiguresFilter) -> tuple[int, int]:
    return call_sums.day_number(flt.first), call_sums.day_number(flt.last)


def weeks(session: Session, flt: FiguresFilter, settings: TelephonySettings) -> list[WeekRow]:
    """Every week of the period (Monday to Sunday), empty ones too, oldest first."""
    if not _summed(session, settings):
        return weeks_counted(session, flt, settings)
    first, last = _days(flt)
    sums = CallDaySum
    rows = session.execute(
        select(
            sums.day, sums.client_calls, sums.client_seconds, sums.booked_minutes, sums.unbooked
        ).where(sums.line_id.in_(_sum_lines(session, flt.user_id)), sums.day.between(first, last))
    )
    totals: dict[int, ClientTime] = {}
    for day, calls, seconds, minutes, unbooked in rows:
        time = totals.setdefault(week_number(call_sums.day_of(day)), ClientTime())
        time.calls += calls
        time.seconds += seconds
        time.booked_minutes += minutes
        time.unbooked += unbooked
    weeks_of = range(week_number(flt.first), week_number(flt.last) + 1)
    return [WeekRow(week_start(week), totals.get(week, ClientTime())) for week in weeks_of]


def users(session: Session, flt: FiguresFilter, settings: TelephonySettings) -> list[UserRow]:
    """Each user with calls with clients in the period, by name."""
    if not _summed(session, settings):
        return users_counted(session, flt, settings)
    first, last = _days(flt)
    sums = CallDaySum
    query = (
        select(
            sums.line_id,
            func.sum(sums.client_calls),
            func.sum(sums.client_seconds),
            func.sum(sums.booked_minutes),
            func.sum(sums.unbooked),
        )
        .where(sums.day.between(first, last), sums.client_calls > 0)
        .group_by(sums.line_id)
    )
    lines = lines_of(session, flt.user_id)
    query = query.where(
        sums.line_id != call_sums.FIRM if lines is None else sums.line_id.in_(lines)
    )
    owners: dict[int, int] = {
        line: user for line, user in session.execute(select(Line.id, Line.user_id))
    }
    totals: dict[int, ClientTime] = {}
    for line_id, calls, seconds, minutes, unbooked in session.execute(query):
        if line_id not in owners:  # pragma: no cover - a deleted line's sums are removed with it
            continue
        time = totals.setdefault(owners[line_id], ClientTime())
        time.calls += int(calls)
        time.seconds += int(seconds)
        time.booked_minutes += int(minutes)
        time.unbooked += int(unbooked)
    found = session.execute(select(User.id, User.name).where(User.id.in_(list(totals) or [0])))
    names = {user_id: name for user_id, name in found}
    rows = [UserRow(user_id, names.get(user_id, "?"), time) for user_id, time in totals.items()]
    return sorted(rows, key=lambda row: (row.name.casefold(), row.user_id))


def ringing(
    session: Session, flt: FiguresFilter, settings: TelephonySettings
) -> tuple[list[RingRow], list[RingRow]]:
    """Incoming calls and the missed ones among them, per hour of the day and per weekday
    (the firm's local time): when to staff the phones."""
    if not _summed(session, settings):
        return ringing_counted(session, flt, settings)
    first, last = _days(flt)
    sums = CallHourSum
    rows = session.execute(
        select(sums.day, sums.hour, sums.incoming, sums.missed).where(
            sums.line_id.in_(_sum_lines(session, flt.user_id)), sums.day.between(first, last)
        )
    )
    hours = [[0, 0] for _ in range(24)]
    days = [[0, 0] for _ in range(7)]
    for day, hour, incoming, missed in rows:
        for slot in (hours[hour], days[(day + 3) % 7]):  # 1 January 1970 was a Thursday
            slot[0] += incoming
            slot[1] += missed
    by_hour = [RingRow(f"{hour:02d}:00", *hours[hour]) for hour in range(24)]
    by_day = [RingRow(WEEKDAYS[day], *days[day]) for day in range(7)]
    return by_hour, by_day


def callbacks(
    session: Session, flt: FiguresFilter, settings: TelephonySettings
) -> list[CallbackRow]:
    """Missed calls of the period by how soon their number was called back."""
    if not _summed(session, settings):
        return callbacks_counted(session, flt, settings)
    first, last = _days(flt)
    sums = CallDaySum.__table__
    names = [name for name, _ in call_sums.CALLBACK_COLUMNS]
    names += [call_sums.NOT_BACK, call_sums.WITHHELD]
    row = session.execute(
        select(*(func.coalesce(func.sum(sums.c[name]), 0) for name in names)).where(
            sums.c.line_id.in_(_sum_lines(session, flt.user_id)),
            sums.c.day.between(first, last),
        )
    ).one()
    labels = [*CALLBACK_LABELS, NOT_CALLED_BACK, WITHHELD]
    return [CallbackRow(label, int(count)) for label, count in zip(labels, row, strict=True)]


def top_callers(
    session: Session, flt: FiguresFilter, settings: TelephonySettings
) -> list[CallerRow]:
    """The addresses with the most calls in the period (both directions), with their
    connected time. One user's from their calls, which their line's index finds (a few
    thousand a year). The firm's from the sums per address: a year has about 600,000 of
    them per day, too many to add up in time, so the four weeks' sums narrow it down first.

    The four weeks wholly in the period give each address at least that many calls, those
    that touch it at most that many; only an address whose most reaches the tenth-best
    least can be among the ten, and only those are summed exactly, from their days."""
    if flt.user_id is not None or not _summed(session, settings):
        return top_callers_counted(session, flt, settings)
    first, last = _days(flt)
    inner_first = call_sums.block_of(first - 1) + 1
    inner_last = call_sums.block_of(last + 1) - 1
    if inner_first > inner_last:  # shorter than about eight weeks: its days are few enough
        return _callers(session, _top_of_days(session, [(first, last)], None))
    blocks = CallerBlockSum
    inside = blocks.block.between(inner_first, inner_last)
    query = (
        select(
            blocks.address_id,
            func.sum(case((inside, blocks.calls), else_=0)),
            func.sum(case((inside, blocks.seconds), else_=0)),
            func.sum(blocks.calls),
        )
        .where(blocks.block.between(call_sums.block_of(first), call_sums.block_of(last)))
        .group_by(blocks.address_id)
    )
    least: dict[int, tuple[int, int]] = {}
    most: dict[int, int] = {}
    for address_id, calls, seconds, upper in session.execute(query):
        least[address_id] = (int(calls), int(seconds))
        most[address_id] = int(upper)
    best = sorted((calls for calls, _ in least.values()), reverse=True)[:TOP_CALLERS]
    bar = max(1, best[-1]) if len(best) == TOP_CALLERS else 1
    candidates = {
        address_id: least[address_id] for address_id, upper in most.items() if upper >= bar
    }
    edges = [
        (first, call_sums.block_days(inner_first)[0] - 1),
        (call_sums.block_days(inner_last)[1] + 1, last),
    ]
    return _callers(session, _top_of_days(session, edges, candidates))


CANDIDATES_BY_ID = 1000  # up to this many candidates are looked up by id, more by their days


def _top_of_days(
    session: Session,
    days: list[tuple[int, int]],
    candidates: dict[int, tuple[int, int]] | None,
) -> list[tuple[int, int, int]]:
    """The top callers, (address, calls, seconds): the sums of the `days` ranges added to the
    candidates' sums of the four weeks between (None: any address, nothing between)."""
    sums = CallerDaySum
    ranges = [sums.day.between(low, high) for low, high in days if low <= high]
    totals: dict[int, list[int]] = {
        address_id: [calls, seconds] for address_id, (calls, seconds) in (candidates or {}).items()
    }
    if ranges:
        query = select(sums.address_id, sums.calls, sums.seconds).where(or_(*ranges))
        if candidates is not None and len(candidates) <= CANDIDATES_BY_ID:
            query = query.where(sums.address_id.in_(list(candidates)))
        for address_id, calls, seconds in session.execute(query):
            if candidates is not None and address_id not in candidates:
                continue
            slot = totals.setdefault(address_id, [0, 0])
            slot[0] += calls
            slot[1] += seconds
    ranked = sorted(
        ((a, c, s) for a, (c, s) in totals.items() if c > 0), key=lambda row: (-row[1], row[0])
    )
    return ranked[:TOP_CALLERS]


def _callers(session: Session, rows: Any) -> list[CallerRow]:
    ids = [row[0] for row in rows]
    addresses = {
        a.id: a for a in session.scalars(select(Address).where(Address.id.in_(ids or [0])))
    }
    return [
        CallerRow(address_id, display_name(addresses[address_id]), int(calls), int(seconds or 0))
        for address_id, calls, seconds in rows
        if address_id in addresses
    ]


def last_week(today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def default_period(today: date) -> tuple[date, date]:
    """The last 13 full weeks and this one: a quarter."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=13), today


def as_of(moment: datetime, settings: TelephonySettings) -> date:
    return moment.astimezone(settings.zone).date()


@dataclass(frozen=True, slots=True)
class Figures:
    """Every chart's figures for one filter: what the charts page and the API show."""

    filter: FiguresFilter
    weeks: list[WeekRow]
    users: list[UserRow]
    by_hour: list[RingRow]
    by_weekday: list[RingRow]
    callbacks: list[CallbackRow]
    top_callers: list[CallerRow]

    @property
    def total(self) -> ClientTime:
        return total(self.weeks)


def all_figures(session: Session, flt: FiguresFilter, settings: TelephonySettings) -> Figures:
    by_hour, by_weekday = ringing(session, flt, settings)
    return Figures(
        flt,
        weeks(session, flt, settings),
        users(session, flt, settings) if flt.user_id is None else [],
        by_hour,
        by_weekday,
        callbacks(session, flt, settings),
        top_callers(session, flt, settings),
    )


@dataclass(frozen=True, slots=True)
class Digest:
    """Last week in one sentence, for the Today page."""

    first: date
    last: date
    time: ClientTime


def digest(session: Session, user_id: int, today: date, settings: TelephonySettings) -> Digest:
    first, last = last_week(today)
    rows = weeks(session, FiguresFilter(user_id, first, last), settings)
    return Digest(first, last, total(rows))
