"""What activities and services share: being made from a call, a date with a time of day in
the firm's zone, and keeping a call's exact times when the user does not change them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from offhook.crm.calls import entry_of, subject, summary
from offhook.crm.forms import Submitted
from offhook.directory.names import display_name
from offhook.journal import entries as journal
from offhook.journal.entry import JournalEntry
from offhook.settings.telephony import TelephonySettings
from offhook.store.models import Activity, Address, Call, Project, Service

TEXT_MAX = 20_000
Work = TypeVar("Work", Activity, Service)


class CallNotFound(LookupError):
    """The call does not exist or is not in the user's journal; interfaces answer "not found"."""


@dataclass(frozen=True, slots=True)
class FromCall:
    """A call the user makes an activity or a service of, and how the journal shows it."""

    call: Call
    entry: JournalEntry

    @property
    def subject(self) -> str:
        return subject(self.entry)

    @property
    def text(self) -> str:
        return summary(self.entry)


def from_call(
    session: Session, user_id: int, call_id: int | None, settings: TelephonySettings
) -> FromCall | None:
    """The user's call `call_id` (None without one); `CallNotFound` for anybody else's call."""
    if call_id is None:
        return None
    call = journal.user_call(session, user_id, call_id)
    if call is None:
        raise CallNotFound("There is no such call in your journal.")
    return FromCall(call, entry_of(session, call, settings))


def moment(
    day: date, clock: time, zone: ZoneInfo, original: datetime | None, original_day: date | None
) -> datetime:
    """The instant the user means by `day` and `clock` in the firm's zone.

    When the day is the original one and the time reads as the original time, the original
    instant is kept to the second: a service made from a call runs exactly from the call's
    connection to its end, although the form shows minutes only. A call ending after
    midnight keeps its end too, as the day field holds the day it started."""
    if original is not None and day == original_day:
        local = original.astimezone(zone)
        same_minute = (local.hour, local.minute) == (clock.hour, clock.minute)
        if same_minute and clock.second in (0, local.second):
            return original
    return datetime.combine(day, clock, zone).astimezone(UTC)


def address_fields(address: Address | None) -> dict[str, str]:
    return {
        "address_id": str(address.id) if address else "",
        "address_name": display_name(address) if address else "",
    }


def project_field(session: Session, project_id: int | None) -> str:
    """A project preselected from the journal's dropdown, if it can be booked on."""
    project = session.get(Project, project_id) if project_id else None
    return str(project.id) if project is not None and project.active else ""


def save_work(
    session: Session,
    work: Work | None,
    new: type[Work],
    data: Submitted,
    user_id: int,
    source: FromCall | None,
) -> Work:
    """Create (a `new` one, the user's, made from the call `source` if any) or update an
    activity or a service with the checked form's fields, in the caller's transaction."""
    if work is None:
        work = new(user_id=user_id, call_id=source.call.id if source else None)
        session.add(work)
    for name, value in data.fields.items():
        setattr(work, name, value)
    session.flush()
    return work
