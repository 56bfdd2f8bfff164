"""A user's day so far, for the Today page: their services and activities, and their calls
counted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from offhook.calls.missed import is_open_missed
from offhook.crm.call_figures import Digest, digest
from offhook.crm.services import of_day
from offhook.crm.services import today as service_day
from offhook.settings.telephony import TelephonySettings
from offhook.store.models import Activity, Call, Line, Service


@dataclass(frozen=True, slots=True)
class Today:
    services: list[Service]
    activities: list[Activity]
    calls_today: int
    missed: int
    lines: list[Line]
    last_week: Digest

    @property
    def minutes(self) -> int:
        return sum(s.minutes for s in self.services)


def today(session: Session, user_id: int, settings: TelephonySettings) -> Today:
    """The day in the firm's zone: services by the day they are booked on (as the Services page
    lists them), activities and calls by when they happened."""
    start, end = settings.local_day_bounds()
    services = of_day(session, user_id, service_day(settings))
    activities = list(
        session.scalars(
            select(Activity)
            .where(
                Activity.user_id == user_id,
                Activity.occurred_at >= start,
                Activity.occurred_at < end,
            )
            .options(joinedload(Activity.address), joinedload(Activity.project))
            .order_by(Activity.occurred_at.desc())
        )
    )
    calls = (
        select(func.count(Call.id))
        .join(Line, Call.line_id == Line.id)
        .where(Line.user_id == user_id, Call.started_at >= start, Call.started_at < end)
    )
    return Today(
        services=services,
        activities=activities,
        calls_today=session.scalar(calls) or 0,
        # Missed calls are work until called back or done, whichever day they came.
        missed=session.scalar(
            select(func.count(Call.id))
            .join(Line, Call.line_id == Line.id)
            .where(Line.user_id == user_id, is_open_missed())
        )
        or 0,
        lines=list(session.scalars(select(Line).where(Line.user_id == user_id))),
        last_week=digest(session, user_id, service_day(settings), settings),
    )
