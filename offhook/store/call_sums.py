"""Sums of calls per line and local day (and per local hour, and per address and day): what
the charts of unbilled calls read, so that a year of a firm's calls is a few hundred rows.

How they are keyed, and why: by the **local** day (and hour) in the firm's time zone, with the
zone they were computed in kept beside them (`CallSumsZone`). Keying by UTC hour and folding
into local days when reading would survive a change of zone without work, but a year of 200
users is then about 400,000 rows per chart, which SQLite alone needs about 300 ms to add up;
local days are 365 rows for the firm. A change of the firm's zone is rare (once, when a firm
sets offhook up), so the sums are rebuilt then (`rebuild`, from the settings' save). While the
sums' zone is not the firm's, nothing reads them: the figures count the calls instead.

Line 0 holds the whole firm's sums, kept by adding each line's change to it (`+ delta` in
one UPDATE), so the firm's charts read one row a day. A line's sums of a day are recomputed
from its calls (about twenty) whenever one of them changes (`refresh`): simple and exact,
whatever the change. On PostgreSQL each key is recomputed under a transaction-scoped advisory
lock: whoever recomputes a key second waits for the first to commit, and then sees its
changes, so two transactions never each write a sum without the other's call.

The definitions of "a connected call", "a client", "booked" and "marked" live here too: the
sums and the lists that count calls directly (`offhook.crm.unbilled`) use the same ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Select,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from offhook.store.local_time import DAY, epoch, local_midnight, local_seconds
from offhook.store.models import (
    Address,
    Call,
    CallDaySum,
    CallerBlockSum,
    CallerDaySum,
    CallHourSum,
    CallSumsZone,
    NotBillable,
    Project,
    Service,
)

FIRM = 0  # the line id of the whole firm's sums
EPOCH_DAY = date(1970, 1, 1)
CALLBACK_WINDOW = 7 * DAY
# (column, upper bound in seconds): how soon a missed call was called back.
CALLBACK_COLUMNS = (
    ("back_15m", 15 * 60),
    ("back_1h", 60 * 60),
    ("back_4h", 4 * 3600),
    ("back_1d", DAY),
    ("back_7d", CALLBACK_WINDOW),
)
NOT_BACK, WITHHELD = "not_back", "withheld"
DAY_COLUMNS = (
    "client_calls",
    "client_seconds",
    "booked_minutes",
    "unbooked",
    *(name for name, _ in CALLBACK_COLUMNS),
    NOT_BACK,
    WITHHELD,
)
HOUR_COLUMNS = ("incoming", "missed")
CALLER_COLUMNS = ("calls", "seconds")
BLOCK_DAYS = 28  # the callers' sums are also kept per four weeks, Monday to Sunday
REBUILD_DAYS = 31  # a month of calls per statement when rebuilding: bounded work each
# The first key of the advisory locks of the sums (the second: a line's id, or an address's
# negated), apart from offhook's other advisory locks (`offhook.lines.leases`).
LOCK_CLASS = 0x0FF5A5


def day_number(day: date) -> int:
    return (day - EPOCH_DAY).days


def day_of(number: int) -> date:
    return EPOCH_DAY + timedelta(days=number)


def block_of(day: int) -> int:
    """The four weeks a day is in; day 0 (1 January 1970) was a Thursday, day -3 a Monday."""
    return (day + 3) // BLOCK_DAYS


def block_days(block: int) -> tuple[int, int]:
    first = block * BLOCK_DAYS - 3
    return first, first + BLOCK_DAYS - 1


def local_day(at: datetime, zone: ZoneInfo) -> int:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return day_number(aware.astimezone(zone).date())


# --- what counts ---------------------------------------------------------------------------------


def seconds_connected() -> ColumnElement[int]:
    return epoch(Call.ended_at) - epoch(Call.connected_at)


def connected_clause() -> ColumnElement[bool]:
    return (Call.state == "ended") & Call.connected_at.is_not(None) & Call.ended_at.is_not(None)


def client_clause() -> ColumnElement[bool]:
    """The call's address (joined as `Address`) or its company has a project."""
    return exists(
        select(Project.id).where(Project.customer_id.in_([Address.id, Address.company_id]))
    )


def booked_clause() -> ColumnElement[bool]:
    return exists(select(Service.id).where(Service.call_id == Call.id))


def marked_clause() -> ColumnElement[bool]:
    return exists(select(NotBillable.call_id).where(NotBillable.call_id == Call.id))


def missed_clause() -> ColumnElement[bool]:
    return (Call.direction == "incoming") & (Call.end_reason == "missed")


def first_callback() -> Any:
    """When the call's number was first called (by anybody) after the call began."""
    later = aliased(Call)
    return (
        select(func.min(later.started_at))
        .where(
            later.remote_e164 == Call.remote_e164,
            later.direction == "outgoing",
            later.started_at > Call.started_at,
        )
        .scalar_subquery()
    )


# --- the sums of calls, computed from the calls --------------------------------------------------


def _period(zone: ZoneInfo, first: int, last: int) -> tuple[datetime, datetime]:
    return local_midnight(day_of(first), zone), local_midnight(day_of(last + 1), zone)


def _day_sums(zone: ZoneInfo, first: int, last: int, line_id: int | None) -> Select[Any]:
    """(line_id, day, *DAY_COLUMNS) of the days first..last (of one line, or every line)."""
    start, end = _period(zone, first, last)
    local = local_seconds(Call.started_at, start, end, zone)
    client = connected_clause() & Address.id.is_not(None) & client_clause()
    minutes = select(func.coalesce(func.sum(Service.minutes), 0)).where(Service.call_id == Call.id)
    missed = missed_clause()
    delay = epoch(first_callback()) - epoch(Call.started_at)
    inner = select(
        Call.line_id.label("line_id"),
        (local // DAY).label("day"),
        case((client, 1), else_=0).label("client"),
        case((client, seconds_connected()), else_=0).label("seconds"),
        case((client, minutes.scalar_subquery()), else_=0).label("minutes"),
        case((client & ~booked_clause() & ~marked_clause(), 1), else_=0).label("unbooked"),
        case((missed, 1), else_=0).label("missed"),
        case((missed & Call.remote_e164.is_(None), 1), else_=0).label("withheld"),
        # Only for missed calls with a number: one look at the number's calls each.
        case((missed & Call.remote_e164.is_not(None), delay), else_=None).label("delay"),
    ).select_from(Call)
    inner = inner.outerjoin(Address, Address.id == Call.address_id)
    inner = inner.where(Call.started_at >= start, Call.started_at < end)
    if line_id is not None:
        inner = inner.where(Call.line_id == line_id)
    calls = inner.subquery()
    reachable = (calls.c.missed == 1) & (calls.c.withheld == 0)
    buckets = []
    low: int | None = None
    for name, bound in CALLBACK_COLUMNS:
        within = reachable & (calls.c.delay <= bound)
        if low is not None:
            within = within & (calls.c.delay > low)
        buckets.append(func.sum(case((within, 1), else_=0)).label(name))
        low = bound
    not_back = reachable & (calls.c.delay.is_(None) | (calls.c.delay > CALLBACK_WINDOW))
    return select(
        calls.c.line_id,
        calls.c.day,
        func.sum(calls.c.client).label("client_calls"),
        func.sum(calls.c.seconds).label("client_seconds"),
        func.sum(calls.c.minutes).label("booked_minutes"),
        func.sum(calls.c.unbooked).label("unbooked"),
        *buckets,
        func.sum(case((not_back, 1), else_=0)).label(NOT_BACK),
        func.sum(calls.c.withheld).label(WITHHELD),
    ).group_by(calls.c.line_id, calls.c.day)


def _hour_sums(zone: ZoneInfo, first: int, last: int, line_id: int | None) -> Select[Any]:
    """(line_id, day, hour, incoming, missed) of the incoming calls of the days first..last."""
    start, end = _period(zone, first, last)
    local = local_seconds(Call.started_at, start, end, zone)
    inner = select(
        Call.line_id.label("line_id"),
        (local // DAY).label("day"),
        ((local % DAY) // 3600).label("hour"),
        case((Call.end_reason == "missed", 1), else_=0).label("missed"),
    ).where(Call.direction == "incoming", Call.started_at >= start, Call.started_at < end)
    if line_id is not None:
        inner = inner.where(Call.line_id == line_id)
    calls = inner.subquery()
    return select(
        calls.c.line_id,
        calls.c.day,
        calls.c.hour,
        func.count().label("incoming"),
        func.sum(calls.c.missed).label("missed"),
    ).group_by(calls.c.line_id, calls.c.day, calls.c.hour)


def _caller_sums(zone: ZoneInfo, first: int, last: int, address_id: int | None) -> Select[Any]:
    """(address_id, day, calls, seconds) of the calls with addresses of the days first..last."""
    start, end = _period(zone, first, last)
    local = local_seconds(Call.started_at, start, end, zone)
    inner = select(
        Call.address_id.label("address_id"),
        (local // DAY).label("day"),
        case((connected_clause(), seconds_connected()), else_=0).label("seconds"),
    ).where(Call.started_at >= start, Call.started_at < end)
    inner = inner.where(
        Call.address_id == address_id if address_id is not None else Call.address_id.is_not(None)
    )
    calls = inner.subquery()
    return select(
        calls.c.address_id,
        calls.c.day,
        func.count().label("calls"),
        func.sum(calls.c.seconds).label("seconds"),
    ).group_by(calls.c.address_id, calls.c.day)


# --- the zone ------------------------------------------------------------------------------------


def sums_zone(connection: Connection) -> str | None:
    """The zone the sums are in, or None: there are none."""
    return connection.scalar(select(CallSumsZone.zone).where(CallSumsZone.id == 1))


# --- keeping them --------------------------------------------------------------------------------


def _lock(connection: Connection, first: int, second: int) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": first, "b": second})
    # SQLite: one writer at a time, the transaction holds the database.


def _ints(row: Any, columns: Iterable[str]) -> dict[str, int]:
    return {name: int(getattr(row, name) or 0) for name in columns}


def _add_to(connection: Connection, table: Any, key: dict[str, int], delta: dict[str, int]) -> None:
    """Add `delta` to the row of `key` (made if missing), the firm's or a four weeks': in one
    statement, so that concurrent transactions each add theirs (the row is locked, and the
    addition is made to what the other committed)."""
    if not any(delta.values()):
        return
    upsert: Any = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = upsert(table).values(**key, **delta)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: getattr(table.c, name) + getattr(statement.excluded, name) for name in delta},
    )
    connection.execute(statement)


def refresh(
    connection: Connection,
    zone: ZoneInfo,
    line_days: Iterable[tuple[int, int]],
    address_days: Iterable[tuple[int, int]] = (),
) -> None:
    """Recompute the sums of these (line, day) and (address, day) keys from their calls, and
    carry each line's change into the firm's sums. In the caller's transaction."""
    for line_id, day in sorted(set(line_days)):
        if line_id == FIRM:
            continue
        _lock(connection, LOCK_CLASS, line_id)
        _refresh_line_day(connection, zone, line_id, day)
    for address_id, day in sorted(set(address_days)):
        _lock(connection, LOCK_CLASS, -address_id)
        _refresh_address_day(connection, zone, address_id, day)


def _refresh_line_day(connection: Connection, zone: ZoneInfo, line_id: int, day: int) -> None:
    days: Any = CallDaySum.__table__
    hours: Any = CallHourSum.__table__
    key = (days.c.line_id == line_id) & (days.c.day == day)
    old = connection.execute(select(days).where(key)).first()
    new = connection.execute(_day_sums(zone, day, day, line_id)).first()
    old_values = _ints(old, DAY_COLUMNS) if old else dict.fromkeys(DAY_COLUMNS, 0)
    new_values = _ints(new, DAY_COLUMNS) if new else dict.fromkeys(DAY_COLUMNS, 0)
    if old_values != new_values:
        if old:
            connection.execute(delete(days).where(key))
        if any(new_values.values()):
            connection.execute(insert(days).values(line_id=line_id, day=day, **new_values))
        delta = {name: new_values[name] - old_values[name] for name in DAY_COLUMNS}
        _add_to(connection, days, {"line_id": FIRM, "day": day}, delta)

    hour_key = (hours.c.line_id == line_id) & (hours.c.day == day)
    before = {
        row.hour: _ints(row, HOUR_COLUMNS)
        for row in connection.execute(select(hours).where(hour_key))
    }
    after = {
        int(row.hour): _ints(row, HOUR_COLUMNS)
        for row in connection.execute(_hour_sums(zone, day, day, line_id))
    }
    if before == after:
        return
    if before:
        connection.execute(delete(hours).where(hour_key))
    if after:
        connection.execute(
            insert(hours),
            [{"line_id": line_id, "day": day, "hour": h, **v} for h, v in after.items()],
        )
    zero = dict.fromkeys(HOUR_COLUMNS, 0)
    for hour in sorted(before.keys() | after.keys()):
        was, now = before.get(hour, zero), after.get(hour, zero)
        delta = {name: now[name] - was[name] for name in HOUR_COLUMNS}
        _add_to(connection, hours, {"line_id": FIRM, "day": day, "hour": hour}, delta)


def _refresh_address_day(connection: Connection, zone: ZoneInfo, address_id: int, day: int) -> None:
    table: Any = CallerDaySum.__table__
    key = (table.c.address_id == address_id) & (table.c.day == day)
    old = connection.execute(select(table).where(key)).first()
    new = connection.execute(_caller_sums(zone, day, day, address_id)).first()
    old_values = _ints(old, CALLER_COLUMNS) if old else None
    new_values = _ints(new, CALLER_COLUMNS) if new else None
    if old_values == new_values:
        return
    if old:
        connection.execute(delete(table).where(key))
    if new_values:
        connection.execute(insert(table).values(address_id=address_id, day=day, **new_values))
    zero = dict.fromkeys(CALLER_COLUMNS, 0)
    delta = {name: (new_values or zero)[name] - (old_values or zero)[name] for name in zero}
    block = {"address_id": address_id, "block": block_of(day)}
    _add_to(connection, CallerBlockSum.__table__, block, delta)


def rebuild(connection: Connection, zone: ZoneInfo) -> None:
    """Every sum anew from the calls, in `zone`, a month of calls per statement."""
    for model in (CallDaySum, CallHourSum, CallerDaySum, CallerBlockSum, CallSumsZone):
        connection.execute(delete(model))
    bounds = connection.execute(select(func.min(Call.started_at), func.max(Call.started_at))).one()
    if bounds[0] is not None:
        first, last = local_day(bounds[0], zone), local_day(bounds[1], zone)
        for start in range(first, last + 1, REBUILD_DAYS):
            end = min(last, start + REBUILD_DAYS - 1)
            _insert(
                connection,
                CallDaySum,
                ("line_id", "day", *DAY_COLUMNS),
                _day_sums(zone, start, end, None),
            )
            _insert(
                connection,
                CallHourSum,
                ("line_id", "day", "hour", *HOUR_COLUMNS),
                _hour_sums(zone, start, end, None),
            )
            _insert(
                connection,
                CallerDaySum,
                ("address_id", "day", *CALLER_COLUMNS),
                _caller_sums(zone, start, end, None),
            )
        _firm_totals(connection)
        _block_totals(connection)
    connection.execute(insert(CallSumsZone).values(id=1, zone=zone.key))


def _insert(
    connection: Connection, model: Any, columns: tuple[str, ...], query: Select[Any]
) -> None:
    connection.execute(insert(model).from_select(list(columns), query))


def _firm_totals(connection: Connection) -> None:
    days: Any = CallDaySum.__table__
    hours: Any = CallHourSum.__table__
    firm_days = (
        select(
            literal(FIRM), days.c.day, *(func.sum(getattr(days.c, name)) for name in DAY_COLUMNS)
        )
        .where(days.c.line_id != FIRM)
        .group_by(days.c.day)
    )
    _insert(connection, CallDaySum, ("line_id", "day", *DAY_COLUMNS), firm_days)
    firm_hours = (
        select(
            literal(FIRM),
            hours.c.day,
            hours.c.hour,
            *(func.sum(getattr(hours.c, name)) for name in HOUR_COLUMNS),
        )
        .where(hours.c.line_id != FIRM)
        .group_by(hours.c.day, hours.c.hour)
    )
    _insert(connection, CallHourSum, ("line_id", "day", "hour", *HOUR_COLUMNS), firm_hours)


def _block_totals(connection: Connection) -> None:
    days: Any = CallerDaySum.__table__
    block = ((days.c.day + 3) // BLOCK_DAYS).label("block")
    inner = select(days.c.address_id, block, days.c.calls, days.c.seconds).subquery()
    blocks = select(
        inner.c.address_id, inner.c.block, func.sum(inner.c.calls), func.sum(inner.c.seconds)
    ).group_by(inner.c.address_id, inner.c.block)
    _insert(connection, CallerBlockSum, ("address_id", "block", *CALLER_COLUMNS), blocks)


def line_days_of_calls(
    connection: Connection, zone: ZoneInfo, where: ColumnElement[bool]
) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """The (line, day) and (address, day) keys of the calls `where` selects."""
    lines: set[tuple[int, int]] = set()
    addresses: set[tuple[int, int]] = set()
    for line_id, address_id, started in connection.execute(
        select(Call.line_id, Call.address_id, Call.started_at).where(where)
    ):
        day = local_day(started, zone)
        lines.add((line_id, day))
        if address_id is not None:
            addresses.add((address_id, day))
    return lines, addresses


def missed_before(
    connection: Connection, zone: ZoneInfo, e164: str, at: datetime
) -> set[tuple[int, int]]:
    """The (line, day) keys of the missed calls from `e164` that a call to it at `at` may
    have called back: those of the week before."""
    since = at - timedelta(seconds=CALLBACK_WINDOW + 1)
    found = connection.execute(
        select(Call.line_id, Call.started_at).where(
            Call.remote_e164 == e164,
            Call.started_at >= since,
            Call.started_at < at,
            missed_clause(),
        )
    )
    keys: defaultdict[int, set[int]] = defaultdict(set)
    for line_id, started in found:
        keys[line_id].add(local_day(started, zone))
    return {(line, day) for line, days in keys.items() for day in days}
