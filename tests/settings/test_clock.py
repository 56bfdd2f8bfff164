"""How dates, times and durations read, in the firm's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from offhook.settings import language
from offhook.settings.clock import (
    date_text,
    datetime_text,
    duration_text,
    field_date,
    field_time,
    long_date_text,
    minutes_text,
    time_text,
    weekday_text,
)

ZURICH = ZoneInfo("Europe/Zurich")
# 23:41:07 UTC is already the next day in Zurich.
LATE = datetime(2026, 11, 26, 23, 41, 7, tzinfo=UTC)


def test_an_instant_is_shown_in_the_firms_zone() -> None:
    with language.using("de-CH"):
        _instant_in_swiss_german()
    with language.using("en"):
        assert datetime_text(LATE, ZURICH) == "Nov 27, 2026 12:41\u202fAM"
        assert weekday_text(LATE, ZURICH) == "Friday"
    assert field_date(LATE, ZURICH) == "27.11.2026"
    assert field_time(LATE, ZURICH) == "00:41"


def _instant_in_swiss_german() -> None:
    assert date_text(LATE, ZURICH) == "27.11.2026"
    assert time_text(LATE, ZURICH) == "00:41"
    assert time_text(LATE, ZURICH, seconds=True) == "00:41:07"
    assert datetime_text(LATE, ZURICH) == "27.11.2026 00:41"
    assert datetime_text(LATE, ZURICH, seconds=True) == "27.11.2026 00:41:07"
    assert weekday_text(LATE, ZURICH) == "Freitag"


def test_a_day_is_shown_as_it_is_in_the_users_locale() -> None:
    day = date(2026, 3, 5)
    with language.using("de-CH"):
        assert date_text(day) == date_text(day, ZURICH) == "05.03.2026"
        assert long_date_text(day) == "Donnerstag, 5. März 2026"
    with language.using("de-DE"):
        assert date_text(day) == "05.03.2026"
    with language.using("en"):
        assert date_text(day) == "Mar 5, 2026"
        assert weekday_text(day) == "Thursday"
        assert long_date_text(day) == "Thursday, March 5, 2026"


def test_nothing_reads_as_empty() -> None:
    assert date_text(None) == time_text(None) == datetime_text(None) == ""
    assert weekday_text(None) == long_date_text(None) == ""
    assert duration_text(None) == minutes_text(None) == ""


def test_durations() -> None:
    assert duration_text(0) == "0:00"
    assert duration_text(252.9) == "4:12"
    assert duration_text(3852) == "1:04:12"


def test_booked_minutes() -> None:
    assert minutes_text(0) == "0 min"
    assert minutes_text(45) == "45 min"
    assert minutes_text(90) == "1:30 h"
