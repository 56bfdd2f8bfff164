"""A synthetic call history: a year of a firm's calls, for benchmarks and the unbilled-calls
figures (`offhook demo-data --call-users N`).

Each user has a line and about twenty calls a working day, in office hours, both ways; most
with the firm's clients (addresses of the synthetic CRM, about a third of whose customers get
projects), some with unknown numbers; some missed, most of those called back. Of the
connected calls with clients, about two in three were booked as a service, one in twenty was
marked "not billable", the rest are unbilled. Deterministic for a seed and an end day.

Run `offhook.intake.synthetic.create_synthetic_crm` first: the callers are its addresses.
Written in bulk (COPY on PostgreSQL), like the synthetic CRM.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from offhook.intake.synthetic import _copy, _fresh_ids
from offhook.settings.telephony import TelephonySettings
from offhook.settings.users import hash_password
from offhook.store import Store, call_sums
from offhook.store.models import Address, Channel, Line, PhoneSystem, Project, ServiceType, User

BATCH_DAYS = 14
CLIENT_POOL = 120  # addresses a user talks to
HOURS = (7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
HOUR_WEIGHTS = (1, 6, 10, 10, 9, 4, 5, 8, 9, 8, 5, 1)

CALL_COLUMNS = (
    "id", "line_id", "call_ref", "direction", "state", "end_reason", "end_reason_given",
    "remote_number", "remote_name", "remote_e164", "remote_kind", "started_at", "connected_at",
    "ended_at", "updated_at", "address_id", "match", "match_count", "address_chosen",
)  # fmt: skip
SERVICE_COLUMNS = (
    "id", "user_id", "project_id", "service_type_id", "address_id", "call_id", "day",
    "started_at", "ended_at", "minutes", "text", "created_at",
)  # fmt: skip
MARK_COLUMNS = ("call_id", "user_id", "reason", "marked_at")


@dataclass(frozen=True, slots=True)
class CallsSummary:
    users: int
    calls: int
    services: int
    not_billable: int


@dataclass(frozen=True, slots=True)
class _Caller:
    address_id: int | None
    e164: str
    project_id: int | None


@dataclass(slots=True)
class _Batch:
    calls: list[list[Any]]
    services: list[list[Any]]  # call row index in place of the call id until written
    marks: list[list[Any]]


def create_synthetic_calls(
    store: Store,
    users: int,
    *,
    days: int = 365,
    calls: int | None = None,
    end: date | None = None,
    seed: int = 1,
    password: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> CallsSummary:
    """`users` new users, each with a line, and `days` days of calls up to `end` (default:
    yesterday): `calls` in all (default about 20 a user and working day)."""
    rng = random.Random(seed)
    with store.session() as session:
        settings = TelephonySettings.load(session)
        zone = settings.zone
        last = end or (datetime.now(UTC).astimezone(zone).date() - timedelta(days=1))
        workdays = sum(1 for n in range(days) if (last - timedelta(days=n)).weekday() < 5)
        per_day = (calls / max(1, users * workdays)) if calls else 20.0
        lines = _users_and_lines(session, users, password, rng)
        callers = _callers(session, rng)
        kind = session.scalar(select(ServiceType.id).where(ServiceType.code == "TEL"))
        if kind is None:
            row = ServiceType(code="TEL", name="Phone call")
            session.add(row)
            session.flush()
            kind = row.id
    totals = [0, 0, 0]
    first = last - timedelta(days=days - 1)
    counter = 0
    for start in range(0, days, BATCH_DAYS):
        batch = _Batch([], [], [])
        for offset in range(start, min(days, start + BATCH_DAYS)):
            day = first + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for user_id, line_id in lines:
                pool = callers[user_id % len(callers)] if callers else []
                amount = _poisson(rng, per_day)
                for _ in range(amount):
                    counter += 1
                    _call(batch, rng, settings, zone, day, user_id, line_id, pool, kind, counter)
        with store.engine.begin() as connection:
            _write(connection, batch)
        totals[0] += len(batch.calls)
        totals[1] += len(batch.services)
        totals[2] += len(batch.marks)
        if on_progress is not None:
            on_progress(min(BATCH_DAYS, days - start))
    # Written past the session (COPY): the charts' sums of calls are made anew from them.
    with store.engine.begin() as connection:
        call_sums.rebuild(connection, zone)
    return CallsSummary(users, *totals)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine for the small means of a working day.
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _users_and_lines(
    session: Any, users: int, password: str | None, rng: random.Random
) -> list[tuple[int, int]]:
    secret = password or f"{rng.getrandbits(128):032x}"
    hashed = hash_password(secret)  # once: every synthetic user shares it
    system = PhoneSystem(driver="simulator", name="Synthetic phone system", enabled=False)
    session.add(system)
    taken = session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0
    rows = []
    for number in range(users):
        login = f"synth-{taken + number + 1:05d}"
        user = User(login=login, name=f"Synthetic user {taken + number + 1}", role="user")
        user.password_hash = hashed
        line = Line(
            user=user, phone_system=system, driver="simulator", address=login, enabled=False
        )
        session.add_all([user, line])
        rows.append((user, line))
    session.flush()
    return [(user.id, line.id) for user, line in rows]


def _callers(session: Any, rng: random.Random) -> list[list[_Caller]]:
    """Pools of clients: addresses with a phone number, a third of whose customers (the
    company of a contact person) get a project if they have none."""
    found = session.execute(
        select(Channel.address_id, Channel.e164)
        .where(Channel.number_kind == "external", Channel.e164.is_not(None))
        .order_by(Channel.id)
        .limit(60_000)
    ).all()
    if not found:
        return []
    company = dict(
        session.execute(
            select(Address.id, Address.company_id).where(Address.id.in_({row[0] for row in found}))
        ).all()
    )
    projects: dict[int, int] = {}
    for customer, project in session.execute(select(Project.customer_id, Project.id)):
        projects.setdefault(customer, project)
    code = session.scalar(select(Project.id).order_by(Project.id.desc()).limit(1)) or 0
    new: dict[int, Project] = {}
    for address_id, _ in found:
        customer = company.get(address_id) or address_id
        if customer not in projects and customer not in new and rng.random() < 0.35:
            code += 1
            new[customer] = Project(code=f"SYN-{code:06d}", customer_id=customer)
    session.add_all(new.values())
    session.flush()  # one batch of inserts: the new projects' ids
    projects |= {customer: project.id for customer, project in new.items()}
    callers = [
        _Caller(address_id, e164, projects.get(company.get(address_id) or address_id))
        for address_id, e164 in found
    ]
    pools = []
    for _ in range(64):
        pools.append(rng.sample(callers, min(CLIENT_POOL, len(callers))))
    return pools


def _unknown(rng: random.Random) -> str:
    return f"+4179{rng.randrange(1_000_000, 9_999_999)}"


def _call(
    batch: _Batch,
    rng: random.Random,
    settings: TelephonySettings,
    zone: ZoneInfo,
    day: date,
    user_id: int,
    line_id: int,
    pool: list[_Caller],
    kind: int,
    counter: int,
) -> None:
    hour = rng.choices(HOURS, HOUR_WEIGHTS)[0]
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), zone)
    started = local.astimezone(UTC).replace(tzinfo=None)  # as the store keeps it: naive UTC
    caller = rng.choice(pool) if pool and rng.random() < 0.8 else _Caller(None, _unknown(rng), None)
    incoming = rng.random() < 0.55
    roll = rng.random()
    if incoming:
        reason = "missed" if roll < 0.12 else "answered_elsewhere" if roll < 0.15 else "answered"
    else:
        reason = "busy" if roll < 0.1 else "cancelled" if roll < 0.25 else "answered"
    connected = ended = None
    ring = timedelta(seconds=rng.randrange(3, 25))
    if reason == "answered":
        connected = started + ring
        seconds = max(5, int(rng.lognormvariate(5.0, 0.9)))  # median 2.5 min, a long tail
        ended = connected + timedelta(seconds=seconds)
    else:
        ended = started + ring
    index = len(batch.calls)
    batch.calls.append(
        [
            None, line_id, f"syn-{counter}", "incoming" if incoming else "outgoing", "ended",
            reason, True, caller.e164, "", caller.e164, "external", started, connected, ended,
            ended, caller.address_id, "exact" if caller.address_id else None,
            1 if caller.address_id else 0, False,
        ]
    )  # fmt: skip
    if reason == "missed" and rng.random() < 0.7:
        _call_back(batch, rng, started, line_id, caller, counter)
    if connected is None or ended is None or caller.project_id is None:
        return
    roll = rng.random()
    if roll < 0.65:
        seconds = int((ended - connected).total_seconds())
        batch.services.append(
            [
                None, user_id, caller.project_id, kind, caller.address_id, index,
                day, connected, ended,
                settings.billable_minutes(seconds), "Phone call", ended,
            ]
        )  # fmt: skip
    elif roll < 0.70:
        batch.marks.append(
            [index, user_id, rng.choice(("", "Courtesy call", "Wrong number")), ended]
        )


def _call_back(
    batch: _Batch,
    rng: random.Random,
    missed: datetime,
    line_id: int,
    caller: _Caller,
    counter: int,
) -> None:
    """The outgoing call that answers a missed one: mostly soon, sometimes days later."""
    delay = timedelta(seconds=int(rng.expovariate(1 / 5400)) + 30)
    started = missed + delay
    connected = started + timedelta(seconds=rng.randrange(3, 20))
    ended = connected + timedelta(seconds=rng.randrange(20, 400))
    batch.calls.append(
        [
            None, line_id, f"syn-{counter}-back", "outgoing", "ended", "answered", True,
            caller.e164, "", caller.e164, "external", started, connected, ended, ended,
            caller.address_id, "exact" if caller.address_id else None,
            1 if caller.address_id else 0, False,
        ]
    )  # fmt: skip


def _write(connection: Connection, batch: _Batch) -> None:
    postgresql = connection.dialect.name == "postgresql"
    if not postgresql:
        connection.exec_driver_sql("UPDATE calls SET id = id WHERE 0")  # take the write lock
    call_ids = _fresh_ids(connection, "calls", len(batch.calls))
    service_ids = _fresh_ids(connection, "services", len(batch.services))
    for call_id, row in zip(call_ids, batch.calls, strict=True):
        row[0] = call_id
    for service_id, row in zip(service_ids, batch.services, strict=True):
        row[0] = service_id
        row[5] = call_ids[row[5]]
    for row in batch.marks:
        row[0] = call_ids[row[0]]
    tables = (
        ("calls", CALL_COLUMNS, batch.calls),
        ("services", SERVICE_COLUMNS, batch.services),
        ("not_billable_calls", MARK_COLUMNS, batch.marks),
    )
    for table, columns, rows in tables:
        if not rows:
            continue
        if postgresql:
            _copy(connection, table, columns, [tuple(row) for row in rows])
            continue
        marks = ", ".join("?" * len(columns))
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
            [tuple(_sqlite(v) for v in row) for row in rows],
        )


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):  # naive UTC, whole seconds (see `_call`)
        return f"{value.isoformat(' ')}.000000"  # as SQLAlchemy keeps it
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value
