"""How offhook writes dates, times and durations, everywhere: the journal, the pages, the texts
of activities and services. Instants are shown in the firm's time zone (`TelephonySettings.zone`);
a day (a `date`) is shown as it is."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

DATE = "%d.%m.%Y"
TIME = "%H:%M"
TIME_SECONDS = "%H:%M:%S"


def _local(value: datetime, zone: tzinfo | None) -> datetime:
    return value.astimezone(zone) if zone is not None else value


def date_text(value: date | datetime | None, zone: tzinfo | None = None) -> str:
    """26.11.2026; an instant is first moved into `zone`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value, zone)
    return value.strftime(DATE)


def time_text(value: datetime | None, zone: tzinfo | None = None, seconds: bool = False) -> str:
    """09:41, or 09:41:07 with `seconds`."""
    if value is None:
        return ""
    return _local(value, zone).strftime(TIME_SECONDS if seconds else TIME)


def datetime_text(value: datetime | None, zone: tzinfo | None = None, seconds: bool = False) -> str:
    """26.11.2026 09:41, or 26.11.2026 09:41:07 with `seconds`."""
    if value is None:
        return ""
    local = _local(value, zone)
    return f"{date_text(local)} {time_text(local, seconds=seconds)}"


def weekday_text(value: date | datetime | None, zone: tzinfo | None = None) -> str:
    """The day's name: Thursday."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value, zone)
    return value.strftime("%A")


def long_date_text(value: date | datetime | None, zone: tzinfo | None = None) -> str:
    """A day written out, for a page's heading: Thursday, 26 November 2026."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value, zone)
    return value.strftime("%A, %d %B %Y")


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
