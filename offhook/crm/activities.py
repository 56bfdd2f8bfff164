"""Activities: the dated notes of calls and other interactions with an address."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from offhook.crm.calls import local_midnight
from offhook.crm.choices import read_address, read_project
from offhook.crm.forms import Form, Submitted
from offhook.crm.paging import Page, fetch_page
from offhook.crm.work import (
    TEXT_MAX,
    FromCall,
    address_fields,
    moment,
    project_field,
    save_work,
)
from offhook.settings.clock import field_date, field_time
from offhook.settings.language import N_
from offhook.settings.telephony import TelephonySettings
from offhook.store.models import Activity, Address


def _loaded(query: Select[Any]) -> Select[Any]:
    return query.options(
        joinedload(Activity.address).joinedload(Address.company),
        joinedload(Activity.project),
        joinedload(Activity.call),
        joinedload(Activity.user),
    )


def load(session: Session, activity_id: int) -> Activity | None:
    activity: Activity | None = session.scalar(
        _loaded(select(Activity)).where(Activity.id == activity_id)
    )
    return activity


def mine(
    session: Session,
    user_id: int,
    first: date | None,
    last: date | None,
    settings: TelephonySettings,
    number: int,
) -> Page[Activity]:
    """The user's activities, newest first, optionally between two days."""
    query = _loaded(select(Activity)).where(Activity.user_id == user_id)
    if first:
        query = query.where(Activity.occurred_at >= local_midnight(first, settings))
    if last:
        query = query.where(
            Activity.occurred_at < local_midnight(last + timedelta(days=1), settings)
        )
    return fetch_page(
        session, query.order_by(Activity.occurred_at.desc(), Activity.id.desc()), number
    )


def blank(
    session: Session,
    settings: TelephonySettings,
    source: FromCall | None,
    address: Address | None,
    project_id: int | None,
) -> dict[str, str]:
    """A new activity: from a call, everything the call tells is filled in."""
    zone = settings.zone
    values = {"subject": "Phone call", "text": "", "project_id": project_field(session, project_id)}
    if source is not None:
        values |= {
            "call_id": str(source.call.id),
            "subject": source.subject,
            "text": source.text,
            "day": field_date(source.call.started_at, zone),
            "time": field_time(source.call.started_at, zone),
        }
        address = source.call.address or address
    else:
        now = datetime.now(UTC)
        values |= {"day": field_date(now, zone), "time": field_time(now, zone)}
    return values | address_fields(address)


def of_activity(activity: Activity, settings: TelephonySettings) -> dict[str, str]:
    return {
        "subject": activity.subject,
        "text": activity.text,
        "project_id": str(activity.project_id or ""),
        "day": field_date(activity.occurred_at, settings.zone),
        "time": field_time(activity.occurred_at, settings.zone),
        "call_id": str(activity.call_id or ""),
    } | address_fields(activity.address)


def read(
    session: Session,
    form: Form,
    settings: TelephonySettings,
    activity: Activity | None = None,
    source: FromCall | None = None,
) -> Submitted:
    subject = form.text("subject", N_("subject"), 300, required=True)
    text = form.text("text", N_("text"), TEXT_MAX)
    day = form.day("day", N_("date"), required=True)
    clock = form.clock("time", N_("time"), required=True)
    address = read_address(session, form)
    project = read_project(session, form, activity.project_id if activity else None)
    original = activity.occurred_at if activity else source.call.started_at if source else None
    fields: dict[str, Any] = {
        "subject": subject,
        "text": text,
        "address_id": address.id if address else None,
        "project_id": project.id if project else None,
    }
    if day is not None and clock is not None:
        original_day = original.astimezone(settings.zone).date() if original else None
        fields["occurred_at"] = moment(day, clock, settings.zone, original, original_day)
    return Submitted(form, fields)


def save(
    session: Session,
    activity: Activity | None,
    data: Submitted,
    user_id: int,
    source: FromCall | None = None,
) -> Activity:
    return save_work(session, activity, Activity, data, user_id, source)
