"""Services: the user's billable time entries, most of them made from calls."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from offhook.crm.choices import read_address, read_project, read_service_type
from offhook.crm.forms import Form, Submitted
from offhook.crm.work import (
    TEXT_MAX,
    FromCall,
    address_fields,
    moment,
    project_field,
    save_work,
)
from offhook.settings.clock import field_date, field_time
from offhook.settings.language import N_, _
from offhook.settings.telephony import TelephonySettings
from offhook.store.models import Address, Service, ServiceType

MAX_MINUTES = 24 * 60


def _loaded(query: Select[Any]) -> Select[Any]:
    return query.options(
        joinedload(Service.address).joinedload(Address.company),
        joinedload(Service.project),
        joinedload(Service.service_type),
        joinedload(Service.call),
        joinedload(Service.user),
    )


def load(session: Session, service_id: int) -> Service | None:
    service: Service | None = session.scalar(
        _loaded(select(Service)).where(Service.id == service_id)
    )
    return service


def today(settings: TelephonySettings) -> date:
    return datetime.now(UTC).astimezone(settings.zone).date()


def of_day(session: Session, user_id: int, day: date) -> list[Service]:
    """The user's services of one day, in the order they were done (untimed ones last)."""
    query = _loaded(select(Service)).where(Service.user_id == user_id, Service.day == day)
    return list(
        session.scalars(
            query.order_by(Service.started_at.is_(None), Service.started_at, Service.id)
        )
    )


def for_call(session: Session, call_id: int) -> list[Service]:
    """Services already entered for a call: entering a second one is allowed, but is
    usually a mistake worth a warning."""
    return list(session.scalars(select(Service).where(Service.call_id == call_id)))


def call_seconds(source: FromCall) -> float | None:
    """The call's exact length, which billing rounds by the firm's rule (a call shorter than a
    second still counts); pages show it cut to whole seconds (clock.call_seconds)."""
    call = source.call
    if call.state != "ended" or call.connected_at is None or call.ended_at is None:
        return None
    return (call.ended_at - call.connected_at).total_seconds()


def blank(
    session: Session,
    settings: TelephonySettings,
    source: FromCall | None,
    address: Address | None,
    project_id: int | None,
    day: date | None = None,
) -> dict[str, str]:
    """A new service; from a call it runs from the call's connection to its end, for the
    minutes the firm's rounding rule bills."""
    zone = settings.zone
    kind = session.get(ServiceType, settings.service_type_id) if settings.service_type_id else None
    values = {
        "text": "",
        "project_id": project_field(session, project_id),
        "service_type_id": str(kind.id) if kind is not None and kind.active else "",
        "day": field_date(day or today(settings)),
        "start": "",
        "end": "",
        "minutes": "",
    }
    if source is not None:
        call = source.call
        seconds = call_seconds(source)
        if seconds is not None and call.connected_at and call.ended_at:
            values |= {
                "call_id": str(call.id),
                "text": source.text,
                "day": field_date(call.connected_at, zone),
                "start": field_time(call.connected_at, zone),
                "end": field_time(call.ended_at, zone),
                "minutes": str(settings.billable_minutes(seconds)),
            }
        address = call.address or address
    return values | address_fields(address)


def of_service(service: Service, settings: TelephonySettings) -> dict[str, str]:
    zone = settings.zone
    return {
        "text": service.text,
        "project_id": str(service.project_id or ""),
        "service_type_id": str(service.service_type_id or ""),
        "day": field_date(service.day),
        "start": field_time(service.started_at, zone),
        "end": field_time(service.ended_at, zone),
        "minutes": str(service.minutes),
        "call_id": str(service.call_id or ""),
    } | address_fields(service.address)


def _originals(
    service: Service | None, source: FromCall | None, settings: TelephonySettings
) -> tuple[datetime | None, datetime | None, date | None]:
    """The exact from/to the form started with, and the day they belong to."""
    if service is not None:
        return service.started_at, service.ended_at, service.day
    if source is not None and source.call.connected_at is not None:
        start = source.call.connected_at
        return start, source.call.ended_at, start.astimezone(settings.zone).date()
    return None, None, None


def _read_times(
    form: Form,
    settings: TelephonySettings,
    day: date | None,
    originals: tuple[datetime | None, datetime | None, date | None],
) -> tuple[datetime | None, datetime | None]:
    start = form.clock("start", N_("start time"))
    end = form.clock("end", N_("end time"))
    if (start is None) != (end is None) and not (form.get("start") and form.get("end")):
        missing = "end" if start is not None else "start"
        form.error(missing, _("Enter both from and to, or neither (then enter the minutes)."))
        return None, None
    if day is None or start is None or end is None:
        return None, None
    first, last, original_day = originals
    started = moment(day, start, settings.zone, first, original_day)
    ended = moment(day, end, settings.zone, last, original_day)
    if ended <= started:
        form.error("end", _("“To” must be after “from”."))
        return None, None
    return started, ended


def read(
    session: Session,
    form: Form,
    settings: TelephonySettings,
    service: Service | None = None,
    source: FromCall | None = None,
) -> Submitted:
    day = form.day("day", N_("date"), required=True)
    started, ended = _read_times(form, settings, day, _originals(service, source, settings))
    minutes = form.integer("minutes", N_("minutes"), 0, MAX_MINUTES)
    if minutes is None and not form.get("minutes") and started and ended:
        seconds = (ended - started).total_seconds()
        # Calls are billed by the firm's rule; time typed by hand counts as it is.
        made_from_call = source is not None or (service is not None and service.call_id)
        minutes = settings.billable_minutes(seconds) if made_from_call else math.ceil(seconds / 60)
    times_wrong = "start" in form.errors or "end" in form.errors
    if minutes is None and not form.get("minutes") and not times_wrong:
        form.error("minutes", _("Enter the minutes, or from and to."))
    text = form.text("text", N_("text"), TEXT_MAX)
    address = read_address(session, form)
    project = read_project(session, form, service.project_id if service else None)
    kind = read_service_type(session, form, service.service_type_id if service else None)
    fields: dict[str, Any] = {
        "day": day,
        "started_at": started,
        "ended_at": ended,
        "minutes": minutes,
        "text": text,
        "address_id": address.id if address else None,
        "project_id": project.id if project else None,
        "service_type_id": kind.id if kind else None,
    }
    return Submitted(form, fields)


def save(
    session: Session,
    service: Service | None,
    data: Submitted,
    user_id: int,
    source: FromCall | None = None,
) -> Service:
    return save_work(session, service, Service, data, user_id, source)
