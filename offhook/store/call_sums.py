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
    bindparam,
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


def _day_sums(zone: ZoneInfo, first: int, last: int, lines: list[int] | None) -> Select[Any]:
    """(line_id, day, *DAY_COLUMNS) of the days first..last (of these lines, or every line)."""
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
    if lines is not None:
        inner = inner.where(Call.line_id.in_(lines))
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


def _hour_sums(zone: ZoneInfo, first: int, last: int, lines: list[int] | None) -> Select[Any]:
    """(line_id, day, hour, incoming, missed) of the incoming calls of the days first..last."""
    start, end = _period(zone, first, last)
    local = local_seconds(Call.started_at, start, end, zone)
    inner = select(
        Call.line_id.label("line_id"),
        (local // DAY).label("day"),
        ((local % DAY) // 3600).label("hour"),
        case((Call.end_reason == "missed", 1), else_=0).label("missed"),
    ).where(Call.direction == "incoming", Call.started_at >= start, Call.started_at < end)
    if lines is not None:
        inner = inner.where(Call.line_id.in_(lines))
    calls = inner.subquery()
    return select(
        calls.c.line_id,
        calls.c.day,
        calls.c.hour,
        func.count().label("incoming"),
        func.sum(calls.c.missed).label("missed"),
    ).group_by(calls.c.line_id, calls.c.day, calls.c.hour)


def _caller_sums(zone: ZoneInfo, first: int, last: int, addresses: list[int] | None) -> Select[Any]:
    """(address_id, day, calls, seconds) of the calls with addresses of the days first..last."""
    start, end = _period(zone, first, last)
    local = local_seconds(Call.started_at, start, end, zone)
    inner = select(
        Call.address_id.label("address_id"),
        (local // DAY).label("day"),
        case((connected_clause(), seconds_connected()), else_=0).label("seconds"),
    ).where(Call.started_at >= start, Call.started_at < end)
    inner = inner.where(
        Call.address_id.in_(addresses) if addresses is not None else Call.address_id.is_not(None)
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


def _ints(row: Any, columns: Iterable[str]) -> tuple[int, ...]:
    return tuple(int(getattr(row, name) or 0) for name in columns)


def _add_to(
    connection: Connection, table: Any, keys: tuple[str, ...], rows: list[dict[str, int]]
) -> None:
    """Add each row's counts to the row of its `keys` (made if missing), the firm's or a four
    weeks': in one statement each, so that concurrent transactions each add theirs (the row
    is locked, and the addition is made to what the other committed)."""
    rows = [row for row in rows if any(value for name, value in row.items() if name not in keys)]
    if not rows:
        return
    upsert: Any = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = upsert(table)
    counts = [name for name in rows[0] if name not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: getattr(table.c, name) + getattr(statement.excluded, name) for name in counts},
    )
    connection.execute(statement, rows)


def refresh(
    connection: Connection,
    zone: ZoneInfo,
    line_days: Iterable[tuple[int, int]],
    address_days: Iterable[tuple[int, int]] = (),
) -> None:
    """Recompute the sums of these (line, day) and (address, day) keys from their calls, and
    carry the changes into the firm's and the four weeks' sums. In the caller's transaction,
    a few statements for all the keys (a batch of call events touches many lines' today)."""
    lines = sorted({key for key in line_days if key[0] != FIRM})
    addresses = sorted(set(address_days))
    for line_id in sorted({line_id for line_id, _ in lines}):
        _lock(connection, LOCK_CLASS, line_id)
    for address_id in sorted({address_id for address_id, _ in addresses}):
        _lock(connection, LOCK_CLASS, -address_id)
    if lines:
        _refresh_days(connection, zone, set(lines))
        _refresh_hours(connection, zone, set(lines))
    if addresses:
        _refresh_callers(connection, zone, set(addresses))


def _span(keys: set[tuple[int, int]]) -> tuple[list[int], int, int]:
    days = [day for _, day in keys]
    return sorted({owner for owner, _ in keys}), min(days), max(days)


def _replace(
    connection: Connection,
    table: Any,
    owner: str,
    changed: list[tuple[int, int]],
    rows: list[dict[str, int]],
) -> None:
    """Delete the rows of the `changed` (owner, day) keys, insert `rows` in their place."""
    if not changed:
        return
    key = (getattr(table.c, owner) == bindparam("owner")) & (table.c.day == bindparam("key_day"))
    connection.execute(delete(table).where(key), [{"owner": o, "key_day": d} for o, d in changed])
    if rows:
        connection.execute(insert(table), rows)


def _refresh_days(connection: Connection, zone: ZoneInfo, keys: set[tuple[int, int]]) -> None:
    table: Any = CallDaySum.__table__
    lines, first, last = _span(keys)
    new = {
        (row.line_id, row.day): _ints(row, DAY_COLUMNS)
        for row in connection.execute(_day_sums(zone, first, last, lines))
        if (row.line_id, row.day) in keys
    }
    old = {
        (row.line_id, row.day): _ints(row, DAY_COLUMNS)
        for row in connection.execute(
            select(table).where(table.c.line_id.in_(lines), table.c.day.between(first, last))
        )
        if (row.line_id, row.day) in keys
    }
    zero = (0,) * len(DAY_COLUMNS)
    changed = sorted(key for key in keys if new.get(key, zero) != old.get(key, zero))
    rows = [
        {"line_id": key[0], "day": key[1], **dict(zip(DAY_COLUMNS, new[key], strict=True))}
        for key in changed
        if any(new.get(key, zero))
    ]
    _replace(connection, table, "line_id", changed, rows)
    firm: dict[int, list[int]] = {}
    for key in changed:
        total = firm.setdefault(key[1], [0] * len(DAY_COLUMNS))
        for index, (now, was) in enumerate(
            zip(new.get(key, zero), old.get(key, zero), strict=True)
        ):
            total[index] += now - was
    _add_to(
        connection,
        table,
        ("line_id", "day"),
        [
            {"line_id": FIRM, "day": day, **dict(zip(DAY_COLUMNS, delta, strict=True))}
            for day, delta in sorted(firm.items())
        ],
    )


def _refresh_hours(connection: Connection, zone: ZoneInfo, keys: set[tuple[int, int]]) -> None:
    table: Any = CallHourSum.__table__
    lines, first, last = _span(keys)
    new: dict[tuple[int, int], dict[int, tuple[int, ...]]] = {}
    for row in connection.execute(_hour_sums(zone, first, last, lines)):
        if (row.line_id, row.day) in keys:
            new.setdefault((row.line_id, row.day), {})[int(row.hour)] = _ints(row, HOUR_COLUMNS)
    old: dict[tuple[int, int], dict[int, tuple[int, ...]]] = {}
    query = select(table).where(table.c.line_id.in_(lines), table.c.day.between(first, last))
    for row in connection.execute(query):
        if (row.line_id, row.day) in keys:
            old.setdefault((row.line_id, row.day), {})[row.hour] = _ints(row, HOUR_COLUMNS)
    changed = sorted(key for key in keys if new.get(key, {}) != old.get(key, {}))
    rows = [
        {
            "line_id": key[0],
            "day": key[1],
            "hour": hour,
            **dict(zip(HOUR_COLUMNS, counts, strict=True)),
        }
        for key in changed
        for hour, counts in sorted(new.get(key, {}).items())
    ]
    _replace(connection, table, "line_id", changed, rows)
    zero = (0,) * len(HOUR_COLUMNS)
    firm: dict[tuple[int, int], list[int]] = {}
    for key in changed:
        now, was = new.get(key, {}), old.get(key, {})
        for hour in now.keys() | was.keys():
            total = firm.setdefault((key[1], hour), [0] * len(HOUR_COLUMNS))
            for index, (a, b) in enumerate(
                zip(now.get(hour, zero), was.get(hour, zero), strict=True)
            ):
                total[index] += a - b
    _add_to(
        connection,
        table,
        ("line_id", "day", "hour"),
        [
            {
                "line_id": FIRM,
                "day": day,
                "hour": hour,
                **dict(zip(HOUR_COLUMNS, delta, strict=True)),
            }
            for (day, hour), delta in sorted(firm.items())
        ],
    )


def _refresh_callers(connection: Connection, zone: ZoneInfo, keys: set[tuple[int, int]]) -> None:
    table: Any = CallerDaySum.__table__
    addresses, first, last = _span(keys)
    new = {
        (row.address_id, row.day): _ints(row, CALLER_COLUMNS)
        for row in connection.execute(_caller_sums(zone, first, last, addresses))
        if (row.address_id, row.day) in keys
    }
    query = select(table).where(table.c.address_id.in_(addresses), table.c.day.between(first, last))
    old = {
        (row.address_id, row.day): _ints(row, CALLER_COLUMNS)
        for row in connection.execute(query)
        if (row.address_id, row.day) in keys
    }
    zero = (0,) * len(CALLER_COLUMNS)
    changed = sorted(key for key in keys if new.get(key, zero) != old.get(key, zero))
    rows = [
        {"address_id": key[0], "day": key[1], **dict(zip(CALLER_COLUMNS, new[key], strict=True))}
        for key in changed
        if key in new
    ]
    _replace(connection, table, "address_id", changed, rows)
    blocks: dict[tuple[int, int], list[int]] = {}
    for address_id, day in changed:
        total = blocks.setdefault((address_id, block_of(day)), [0] * len(CALLER_COLUMNS))
        now, was = new.get((address_id, day), zero), old.get((address_id, day), zero)
        for index, (a, b) in enumerate(zip(now, was, strict=True)):
            total[index] += a - b
    _add_to(
        connection,
        CallerBlockSum.__table__,
        ("address_id", "block"),
        [
            {"address_id": a, "block": b, **dict(zip(CALLER_COLUMNS, delta, strict=True))}
            for (a, b), delta in sorted(blocks.items())
        ],
    )


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
