"""Instants as seconds, and the firm's local time of day, computed by the database: the
figures of a year of calls are grouped where the calls are, not row by row in Python.

SQLite has no time zones, so the offset of the firm's zone is given as a CASE over the
period's daylight-saving changes (a handful per year), found here in Python.

In the store because the sums of calls (`offhook.store.call_sums`) are kept by local day, and
the migration that builds them needs the firm's zone (the machine's while none was saved).
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import BigInteger, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

# Monday, 29 December 1969: weeks are counted from it, so that week numbers start on Mondays.
WEEK_ZERO = date(1969, 12, 29)
DAY = 86_400


class epoch(FunctionElement[int]):  # lower case, like the SQL functions it stands for
    """Whole seconds since 1970 of a timestamp column (the store keeps UTC)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch)
def _epoch_postgresql(element: epoch, compiler: Any, **kw: Any) -> str:
    # The columns are `timestamp without time zone` holding UTC: their epoch is UTC's.
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def offset_changes(first: datetime, last: datetime, zone: ZoneInfo) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (seconds) at `first`, then each (instant, new offset) up to `last`."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    changes = [(first, offset(first))]
    at = first
    while at < last:
        following = min(at + timedelta(days=1), last)
        if offset(following) != changes[-1][1]:
            low, high = at, following  # the change lies in between: find its hour
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == changes[-1][1]:
                    low = middle
                else:
                    high = middle
            # Zones change on whole minutes: the search's last second is rounded away.
            change = (high + timedelta(seconds=30)).replace(second=0, microsecond=0)
            changes.append((change, offset(change)))
        at = following
    return changes


def local_seconds(
    column: Any, first: datetime, last: datetime, zone: ZoneInfo
) -> ColumnElement[int]:
    """`column` as seconds since 1970 on the firm's wall clock, for instants in [first, last]."""
    changes = offset_changes(first, last, zone)
    if len(changes) == 1:
        shift: ColumnElement[int] = literal(changes[0][1])
    else:
        whens = [(column < at, literal(before)) for (at, _), (_, before) in _pairs(changes)]
        shift = case(*whens, else_=literal(changes[-1][1]))
    return epoch(column) + shift


def _pairs(
    changes: list[tuple[datetime, int]],
) -> list[tuple[tuple[datetime, int], tuple[datetime, int]]]:
    # (the change, the offset before it) for each change after the first entry
    return [(changes[index], changes[index - 1]) for index in range(1, len(changes))]


def week_of(seconds: ColumnElement[int]) -> ColumnElement[int]:
    """The week (Monday to Sunday) of local seconds, counted from WEEK_ZERO."""
    return (seconds // DAY + 3) // 7


def weekday_of(seconds: ColumnElement[int]) -> ColumnElement[int]:
    """0 = Monday … 6 = Sunday."""
    return (seconds // DAY + 3) % 7


def hour_of(seconds: ColumnElement[int]) -> ColumnElement[int]:
    return (seconds % DAY) // 3600


def week_start(week: int) -> date:
    return WEEK_ZERO + timedelta(weeks=week)


def week_number(day: date) -> int:
    return (day - WEEK_ZERO).days // 7


@functools.cache
def zone_names() -> frozenset[str]:
    # Read from the zone files once: about 0.1 s, and the settings are read every 2 s on the
    # hot path of call events and lookups (see `offhook.settings.telephony.SettingsCache`).
    return frozenset(available_timezones())


def system_timezone() -> str:
    """The machine's time zone name, or UTC when it cannot be told."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name in zone_names():
        return name
    try:
        target = Path("/etc/localtime").resolve()
        parts = target.parts
        if "zoneinfo" in parts:
            candidate = "/".join(parts[parts.index("zoneinfo") + 1 :])
            if candidate in zone_names():
                return candidate
    except OSError:
        pass
    return "UTC"
