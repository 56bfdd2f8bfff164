"""Normalize phone numbers: the bulk job behind the Settings action and `offhook numbers
normalize`.

- It streams the channels in batches by id (keyset pagination: `id > last`), one transaction
  per batch, so memory stays flat and every finished batch is kept.
- Progress is in the rows themselves: a channel carries the fingerprint of the telephony
  settings it was normalized with (`normalized_with`). A run skips channels that already carry
  the current one, so it is idempotent, and an interrupted run continues where it stopped.
- Rows whose normalized values did not change only get the new fingerprint; a row whose value
  was edited while the job ran is left alone (the edit normalized it already).
- One job at a time per database: a lock file beside a SQLite database, an advisory lock on
  PostgreSQL. A second start says so instead of doing the work twice.
- Its progress and outcome are kept in the settings table (`numbers_normalization`), so the
  Settings page shows a run started on the command line or on another server too.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, func, or_, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from offhook.directory.normalization.values import (
    NOT_A_NUMBER,
    NUMBER_KINDS,
    Entry,
    Normalized,
    Normalizer,
    default_workers,
    normalized,
)
from offhook.numbers import NumberingPlan
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store import Store
from offhook.store.models import Address, Channel, Setting

SUMMARY = "numbers_normalization"
STALLED_AFTER = timedelta(minutes=2)  # without a finished batch
BATCH_SIZE = 20_000  # rows per transaction: fewer, larger commits write fewer index pages
PROBLEM_KINDS = ("invalid", "withheld")
_ADVISORY_KEY = 0x6F66686F6F6B  # "offhook": the PostgreSQL advisory lock of this job

channels = cast(Table, Channel.__table__)
settings_table = cast(Table, Setting.__table__)
Rows = Sequence[tuple[Any, ...]]  # rows of _SELECT


class NormalizationBusy(Exception):
    """Another run is normalizing the numbers of this database right now."""


@dataclass
class Progress:
    """A run of the job, as the Settings page and the command line show it."""

    state: str = "running"  # running | finished | interrupted | failed
    fingerprint: str = ""
    total: int = 0  # channels this run looks at
    done: int = 0
    changed: int = 0  # channels whose normalized number changed
    problems: int | None = None  # numbers that cannot be normalized, counted at the end
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str | None = None
    seconds: float = 0.0
    error: str | None = None
    started_by: str = "command line"

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def rate(self) -> float:
        """Numbers per second."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def last_run(session: Session) -> Progress | None:
    """The newest run of the job (finished or not), or None if it never ran.

    A run that says "running" but has not finished a batch for `STALLED_AFTER` seconds ended
    with its process (killed, power cut): it is reported as interrupted.
    """
    row = session.get(Setting, SUMMARY)
    if row is None:
        return None
    progress = Progress.from_json(dict(row.value))
    if progress.running and datetime.now(UTC) - row.updated_at > STALLED_AFTER:
        progress.state = "interrupted"
        progress.error = "it stopped without finishing (the program running it ended)"
    return progress


def stale_numbers_exist(store: Store, fingerprint: str | None = None) -> bool:
    """Whether any channel was normalized with other settings than the current ones (or never)."""
    with store.session() as session:
        fingerprint = fingerprint or TelephonySettings.load(session).fingerprint()
        query = select(channels.c.id).where(_stale(fingerprint)).limit(1)
        return session.execute(query).first() is not None


def normalize_numbers(
    store: Store,
    *,
    everything: bool = False,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    stop: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    started_by: str = "command line",
) -> Progress:
    """Normalize every stored number that needs it (every one with `everything`).

    Raises NormalizationBusy when another run holds the database. Returns the run's outcome;
    with `stop` set it ends after the current batch as "interrupted".
    """
    with _exclusive(store):
        with store.session() as session:
            settings = TelephonySettings.load(session)
        fingerprint = settings.fingerprint()
        progress = Progress(fingerprint=fingerprint, started_by=started_by)
        progress.total = _count(store.engine, None if everything else fingerprint)
        _save(store.engine, progress, create=True)
        clock = time.monotonic()
        try:
            count = workers if workers is not None else default_workers(progress.total)
            plan = numbering_plan(settings)
            with (
                Normalizer(plan, count) as normalizer,
                _writer(store.engine) as connection,
            ):
                batches = _batches(store.engine, fingerprint, everything, batch_size, stop)
                for rows, at_home in normalizer.pipeline(batches, _pairs):
                    with connection.begin():
                        results = _abroad(connection, plan, rows, at_home)
                        progress.changed += _write(connection, fingerprint, rows, results)
                        progress.done += len(rows)
                        progress.seconds = time.monotonic() - clock
                        _save(connection, progress)
                    if on_progress is not None:
                        on_progress(progress)
            progress.state = "interrupted" if stop is not None and stop.is_set() else "finished"
        except BaseException as problem:  # KeyboardInterrupt too: the page must not say "running"
            progress.state = "failed" if isinstance(problem, Exception) else "interrupted"
            progress.error = str(problem) or type(problem).__name__
            raise
        finally:
            progress.seconds = time.monotonic() - clock
            progress.finished_at = datetime.now(UTC).isoformat()
            if progress.state == "finished":
                progress.problems = count_problems(store.engine)
            with contextlib.suppress(Exception):  # the database may be what failed
                _save(store.engine, progress)
        return progress


def count_problems(engine: Engine) -> int:
    """Stored numbers that could not be normalized (invalid, or no number at all)."""
    query = (
        select(func.count())
        .select_from(channels)
        .where(channels.c.kind.in_(NUMBER_KINDS), channels.c.number_kind.in_(PROBLEM_KINDS))
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


# --- reading and writing batches ---------------------------------------------------------------

# Read straight from the driver as plain tuples: SQLAlchemy's Row objects cost more per row
# than the database does. The columns, in this order:
_SELECT = (
    "SELECT id, kind, value, e164, number_kind, block_prefix, normalize_error, normalized_with "
    "FROM channels WHERE id > {mark} {stale}ORDER BY id LIMIT {mark}"
)
_STALE = "AND (normalized_with IS NULL OR normalized_with <> {mark}) "
# The country a number is read in when it is no number at home: its address's, else its
# company's (see offhook.directory.normalization.values). Asked only for those few, not for
# every row.
_addresses = cast(Table, Address.__table__)
_companies = _addresses.alias("company")
_COUNTRIES = (
    select(
        channels.c.id,
        func.coalesce(func.nullif(_addresses.c.country, ""), _companies.c.country, ""),
    )
    .select_from(
        channels.join(_addresses, _addresses.c.id == channels.c.address_id).outerjoin(
            _companies, _companies.c.id == _addresses.c.company_id
        )
    )
    .where(channels.c.id.in_(bindparam("ids", expanding=True)))
)


def _stale(fingerprint: str) -> Any:
    return or_(channels.c.normalized_with.is_(None), channels.c.normalized_with != fingerprint)


def _count(engine: Engine, stale_for: str | None) -> int:
    query = select(func.count()).select_from(channels)
    if stale_for is not None:
        query = query.where(_stale(stale_for))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _batches(
    engine: Engine,
    fingerprint: str,
    everything: bool,
    size: int,
    stop: threading.Event | None,
) -> Iterator[Rows]:
    """Batches of rows by id (keyset pagination: each batch starts after the last one's id)."""
    last = 0
    with engine.connect() as connection:
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = _SELECT.format(mark=mark, stale="" if everything else _STALE.format(mark=mark))
    while stop is None or not stop.is_set():
        with engine.connect() as connection:
            cursor = connection.connection.cursor()
            values = (last, size) if everything else (last, fingerprint, size)
            cursor.execute(sql, values)
            rows = cursor.fetchall()
            cursor.close()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


SQLITE_JOB_CACHE_KIB = 64 * 1024


@contextlib.contextmanager
def _writer(engine: Engine) -> Iterator[Connection]:
    """The connection that writes the batches, set up for a bulk run and set back after it.

    SQLite gets a larger page cache: the updates land all over the number indexes, and the
    default 2 MB would read their pages again and again (bounded, so memory stays flat).
    PostgreSQL does not wait for each batch's commit to reach the disk: after a crash the
    last batches are simply done again, the job is idempotent.
    """
    with engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "sqlite":
            connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_JOB_CACHE_KIB}")
        elif dialect == "postgresql":
            connection.exec_driver_sql("SET synchronous_commit = off")
        connection.commit()
        try:
            yield connection
        finally:
            connection.rollback()
            if dialect == "sqlite":
                connection.exec_driver_sql("PRAGMA cache_size = -2000")  # SQLite's default
            elif dialect == "postgresql":
                connection.exec_driver_sql("RESET synchronous_commit")
            connection.commit()


def _pairs(rows: Rows) -> list[Entry]:
    # Only the numbers travel to the workers; e-mail addresses have no normalized form. They
    # read each number at home; `_abroad` takes care of the few that are no number there.
    return [(row[1], row[2], "") for row in rows if row[1] in NUMBER_KINDS]


def _abroad(
    connection: Connection, plan: NumberingPlan, rows: Rows, results: list[Normalized]
) -> list[Normalized]:
    """`results` with the numbers that are no number at home read in their address's country,
    where that is another one (a German client's "089 3816 230")."""
    numbers = [row for row in rows if row[1] in NUMBER_KINDS]
    invalid = {
        row[0]: index
        for index, (row, result) in enumerate(zip(numbers, results, strict=True))
        if result.number_kind == "invalid"
    }
    if not invalid:
        return results
    results = list(results)
    countries = connection.execute(_COUNTRIES, {"ids": list(invalid)})
    for channel_id, country in countries:
        if country and country.upper() != plan.country:
            index = invalid[channel_id]
            row = numbers[index]
            results[index] = normalized(row[1], row[2], plan, country)
    return results


def _write(
    connection: Connection,
    fingerprint: str,
    rows: Rows,
    results: list[Normalized],
) -> int:
    changed: list[tuple[Any, ...]] = []
    stamped: list[tuple[int, str]] = []
    numbers = iter(results)
    for row in rows:
        new = next(numbers) if row[1] in NUMBER_KINDS else NOT_A_NUMBER
        if row[3:7] != new:  # e164, number_kind, block_prefix, normalize_error
            changed.append((*new, row[0], row[2]))
        elif row[7] != fingerprint:
            stamped.append((row[0], row[2]))
    if next(numbers, None) is not None:  # pragma: no cover - a result for each number
        raise RuntimeError("more normalized numbers than numbers")
    if connection.dialect.name == "postgresql":
        _write_postgresql(connection, fingerprint, changed, stamped)
    else:
        _write_sqlite(connection, fingerprint, changed, stamped)
    return len(changed)


def _write_sqlite(
    connection: Connection,
    fingerprint: str,
    changed: list[tuple[Any, ...]],
    stamped: list[tuple[int, str]],
) -> None:
    # executemany of prepared statements: SQLite runs them in-process, there is no round trip.
    if changed:
        connection.exec_driver_sql(
            "UPDATE channels SET e164 = ?, number_kind = ?, block_prefix = ?, "
            "normalize_error = ?, normalized_with = ? WHERE id = ? AND value = ?",
            [(*new[:4], fingerprint, *new[4:]) for new in changed],
        )
    if stamped:
        connection.exec_driver_sql(
            "UPDATE channels SET normalized_with = ? WHERE id = ? AND value = ?",
            [(fingerprint, *key) for key in stamped],
        )


# `%b`: the arrays travel in binary. psycopg checks every element of a text array for
# characters to quote, which cost more than the update itself.
_PG_CHANGED = (
    "UPDATE channels AS c SET e164 = v.e164, number_kind = v.number_kind, "
    "block_prefix = v.block_prefix, normalize_error = v.normalize_error, "
    "normalized_with = %(fingerprint)s "
    "FROM unnest(%(e164)b::varchar[], %(number_kind)b::varchar[], %(block_prefix)b::varchar[], "
    "%(normalize_error)b::varchar[], %(id)b::integer[], %(value)b::varchar[]) "
    "AS v(e164, number_kind, block_prefix, normalize_error, id, value) "
    "WHERE c.id = v.id AND c.value = v.value AND c.id BETWEEN %(first)s AND %(last)s"
)
_PG_STAMPED = (
    "UPDATE channels AS c SET normalized_with = %(fingerprint)s "
    "FROM unnest(%(id)b::integer[], %(value)b::varchar[]) AS v(id, value) "
    "WHERE c.id = v.id AND c.value = v.value AND c.id BETWEEN %(first)s AND %(last)s"
)
_PG_COLUMNS = ("e164", "number_kind", "block_prefix", "normalize_error", "id", "value")


def _write_postgresql(
    connection: Connection,
    fingerprint: str,
    changed: list[tuple[Any, ...]],
    stamped: list[tuple[int, str]],
) -> None:
    # One statement per batch with arrays: a round trip per row would cost more than parsing.
    # The batch's id range keeps the join on the primary key: the planner cannot estimate the
    # join on (id, value) and would otherwise hash the whole table for every batch.
    cursor = connection.connection.cursor()
    try:
        if changed:
            transposed = zip(*changed, strict=True)
            columns = {n: list(v) for n, v in zip(_PG_COLUMNS, transposed, strict=True)}
            span = {"first": min(columns["id"]), "last": max(columns["id"])}
            cursor.execute(_PG_CHANGED, {"fingerprint": fingerprint, **span, **columns})
        if stamped:
            ids, values = (list(column) for column in zip(*stamped, strict=True))
            span = {"first": min(ids), "last": max(ids)}
            cursor.execute(
                _PG_STAMPED, {"fingerprint": fingerprint, **span, "id": ids, "value": values}
            )
    finally:
        cursor.close()


def _save(target: Engine | Connection, progress: Progress, create: bool = False) -> None:
    now = datetime.now(UTC)
    if isinstance(target, Engine):
        with target.begin() as connection:
            _save(connection, progress, create)
        return
    values = {"value": progress.to_json(), "updated_at": now}
    result = target.execute(
        update(settings_table).where(settings_table.c.key == SUMMARY).values(**values)
    )
    if create and result.rowcount == 0:
        target.execute(settings_table.insert().values(key=SUMMARY, **values))


# --- one run at a time -------------------------------------------------------------------------

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


@contextlib.contextmanager
def _exclusive(store: Store) -> Iterator[None]:
    with _process_locks_guard:
        lock = _process_locks.setdefault(store.url, threading.Lock())
    if not lock.acquire(blocking=False):
        raise NormalizationBusy(BUSY)
    try:
        if store.dialect == "postgresql":
            with _advisory_lock(store.engine):
                yield
        else:
            with _lock_file(store.url):
                yield
    finally:
        lock.release()


BUSY = (
    "The phone numbers are being normalized right now (by this server, another one or the "
    "command line). Wait until that has finished; it continues by itself."
)


@contextlib.contextmanager
def _advisory_lock(engine: Engine) -> Iterator[None]:
    # Autocommit: holding the lock must not hold a transaction open for the whole run.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        key = {"key": _ADVISORY_KEY}
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
            raise NormalizationBusy(BUSY)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)


@contextlib.contextmanager
def _lock_file(url: str) -> Iterator[None]:
    database = make_url(url).database
    try:
        import fcntl
    except ImportError:  # Windows: one server per SQLite file is all there is
        yield
        return
    if not database or database == ":memory:":
        yield
        return
    # A file of its own: opening and closing the database file would drop SQLite's own locks.
    path = Path(database).with_name(Path(database).name + ".normalizing")
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise NormalizationBusy(BUSY) from exc
        yield
    finally:
        os.close(handle)  # closing releases the lock
