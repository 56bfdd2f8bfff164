"""How offhook writes dates, times and durations, everywhere: the journal, the pages, the texts
of activities and services. Instants are shown in the firm's time zone (`TelephonySettings.zone`);
a day (a `date`) is shown as it is.

One rule for a call's length as shown: the whole seconds from answer to end, cut, never
rounded (`call_seconds`), written m:ss without a unit (`duration_text`); the journal's script
counts the same way. (Billing rounds the exact length by the firm's rule.) Booked time is
minutes, written with its unit (`minutes_text`). A span of time is written to the minute, or to
the second when both ends fall within the same minute (`span_text`)."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from babel.dates import format_date, format_time

from offhook.settings.language import babel_locale

# What a form field holds and reads back (`crm.forms.parse_day`, `parse_clock`), whatever the
# user's locale: the date picker fills it the same way.
FIELD_DATE = "%d.%m.%Y"
FIELD_TIME = "%H:%M"


def _local(value: datetime, zone: tzinfo | None) -> datetime:
    return value.astimezone(zone) if zone is not None else value


def _day(value: date | datetime, zone: tzinfo | None) -> date:
    return _local(value, zone).date() if isinstance(value, datetime) else value


def date_text(value: date | datetime | None, zone: tzinfo | None = None) -> str:
    """The day in the user's locale (`language.current`): 26.11.2026 (de), Nov 26, 2026 (en);
    an instant is first moved into `zone`."""
    if value is None:
        return ""
    return format_date(_day(value, zone), "medium", locale=babel_locale())


def time_text(value: datetime | None, zone: tzinfo | None = None, seconds: bool = False) -> str:
    """09:41 (de), 9:41 AM (en); with `seconds` 09:41:07."""
    if value is None:
        return ""
    return format_time(_local(value, zone), "medium" if seconds else "short", locale=babel_locale())


def datetime_text(value: datetime | None, zone: tzinfo | None = None, seconds: bool = False) -> str:
    """26.11.2026 09:41 (de), Nov 26, 2026 9:41 AM (en)."""
    if value is None:
        return ""
    local = _local(value, zone)
    return f"{date_text(local)} {time_text(local, seconds=seconds)}"


def weekday_text(value: date | datetime | None, zone: tzinfo | None = None) -> str:
    """The day's name: Donnerstag, Thursday."""
    if value is None:
        return ""
    return format_date(_day(value, zone), "EEEE", locale=babel_locale())


def long_date_text(value: date | datetime | None, zone: tzinfo | None = None) -> str:
    """A day written out, for a page's heading: Donnerstag, 26. November 2026; Thursday,
    November 26, 2026."""
    if value is None:
        return ""
    return format_date(_day(value, zone), "full", locale=babel_locale())


def field_date(value: date | datetime | None, zone: tzinfo | None = None) -> str:
    """A day as a form field holds it: 26.11.2026."""
    if value is None:
        return ""
    return _day(value, zone).strftime(FIELD_DATE)


def field_time(value: datetime | None, zone: tzinfo | None = None) -> str:
    """A time of day as a form field holds it (and the journal's data): 09:41."""
    if value is None:
        return ""
    return _local(value, zone).strftime(FIELD_TIME)


def call_seconds(connected_at: datetime | None, ended_at: datetime | None) -> int | None:
    """A call's length in whole seconds (cut, not rounded); None if it was never connected."""
    if connected_at is None or ended_at is None:
        return None
    return max(0, int((ended_at - connected_at).total_seconds()))


def span_text(start: datetime | None, end: datetime | None, zone: tzinfo | None = None) -> str:
    """09:41–09:45; 09:41:03–09:41:06 when both ends are in the same minute (else it would read
    09:41–09:41)."""
    if start is None:
        return ""
    if end is None:
        return time_text(start, zone)
    seconds = time_text(start, zone) == time_text(end, zone)
    return f"{time_text(start, zone, seconds)}–{time_text(end, zone, seconds)}"


def duration_text(seconds: float | None) -> str:
    """A call's length to the second: 4:12, or 1:04:12 from an hour on."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def minutes_text(minutes: int | None) -> str:
    """Booked time: 45 min, or 1:30 h from an hour on."""
    if minutes is None:
        return ""
    hours, rest = divmod(int(minutes), 60)
    return f"{hours}:{rest:02d} h" if hours else f"{rest} min"
