"""Firm-wide settings kept in the store: Settings > Telephony and friends.

They are read from the store when used (cheaply, through a short-lived cache), so a change made
on the settings page takes effect at once, without a restart, on every server of a team.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from offhook.numbers import NumberingPlan
from offhook.store import call_sums
from offhook.store.local_time import system_timezone, zone_names
from offhook.store.models import ServiceType, Setting

TELEPHONY = "telephony"

RoundingMode = Literal["up", "nearest", "none"]
PLAN_FIELDS = {
    "country",
    "area_code",
    "outside_line",
    "incoming_with_outside_line",
    "internal_max_length",
}


class TelephonySettings(BaseModel):
    """Settings > Telephony. Every field has a safe default, so a broken document never stops
    calls from being recorded: unknown keys are ignored and bad values fall back (see `load`)."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    country: str = Field("CH", description="Home country (ISO code, e.g. CH)")
    area_code: str = Field("", description="Home area code, for local numbers without one")
    outside_line: str = Field("", description="Outside-line prefix, e.g. 0")
    incoming_with_outside_line: bool = False
    internal_max_length: int = Field(4, ge=1, le=8)
    service_type_id: int | None = None
    rounding_step: int = Field(5, ge=1, le=60, description="Bill calls in steps of N minutes")
    rounding_mode: RoundingMode = "up"
    rounding_minimum: int = Field(0, ge=0, le=480, description="Bill at least N minutes")
    timezone: str = Field(default_factory=system_timezone)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 2 or not value.isalpha():
            raise ValueError("enter the two-letter country code, e.g. CH, DE or AT")
        return value

    @field_validator("area_code", "outside_line")
    @classmethod
    def _digits(cls, value: str) -> str:
        value = value.strip()
        if value and not value.isdigit():
            raise ValueError("only digits are allowed here")
        if len(value) > 6:
            raise ValueError("at most 6 digits")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in zone_names():
            raise ValueError(f"unknown time zone {value!r}; use a name like Europe/Zurich")
        return value

    @model_validator(mode="after")
    def _plan_is_usable(self) -> Self:
        # The numbers module has the last word on what a numbering plan may be.
        numbering_plan(self)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def fingerprint(self) -> str:
        """Identifies the settings that shape normalized numbers; a change re-normalizes."""
        relevant = {
            "country": self.country,
            "area_code": self.area_code,
            "outside_line": self.outside_line,
            "internal_max_length": self.internal_max_length,
        }
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]

    def billable_minutes(self, seconds: float) -> int:
        """Minutes to bill for a call of `seconds`, by the firm's rounding rule."""
        # Whole seconds, then integer arithmetic: no float rounding at step boundaries.
        whole = math.ceil(max(0.0, seconds))
        unit = 60 * self.rounding_step
        if self.rounding_mode == "none":
            minutes = -(-whole // 60)
        elif self.rounding_mode == "up":
            minutes = -(-whole // unit) * self.rounding_step
        else:  # nearest, halves round up (a 2.5-minute call in steps of 5 is 5 minutes)
            minutes = (whole + unit // 2) // unit * self.rounding_step
        return max(minutes, self.rounding_minimum)

    def rounding_text(self) -> str:
        if self.rounding_mode == "none":
            rule = "exact minutes"
        elif self.rounding_mode == "up":
            rule = f"rounded up to {self.rounding_step} minutes"
        else:
            rule = f"rounded to the nearest {self.rounding_step} minutes"
        if self.rounding_minimum:
            rule += f", at least {self.rounding_minimum} minutes"
        return rule

    def local_day_bounds(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """Start and end (UTC) of the current day in the firm's time zone."""
        local = (now or datetime.now(UTC)).astimezone(self.zone)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=1, hours=3)).replace(hour=0)  # survives DST changes
        return start.astimezone(UTC), end.astimezone(UTC)

    @classmethod
    def load(cls, session: Session) -> Self:
        row = session.get(Setting, TELEPHONY)
        raw = dict(row.value) if row else {}
        # A hand-edited or older document must not stop the telephony: keep what is valid,
        # then fall back field group by field group.
        for attempt in range(3):
            try:
                return cls.model_validate(raw)
            except ValidationError as exc:
                bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
                if attempt == 1 or not bad:
                    bad |= PLAN_FIELDS
                raw = {key: value for key, value in raw.items() if key not in bad}
        return cls()

    def save(self, session: Session) -> None:
        row = session.get(Setting, TELEPHONY)
        if row is None:
            session.add(Setting(key=TELEPHONY, value=self.model_dump()))
        else:
            row.value = self.model_dump()
            row.updated_at = datetime.now(UTC)
        SettingsCache.invalidate()
        connection = session.connection()
        if call_sums.sums_zone(connection) != self.timezone:
            # The sums of calls are kept by local day: in another zone they are all new. Rare
            # (a firm sets its zone once), and about 10 s per million calls.
            session.flush()
            call_sums.rebuild(connection, self.zone)


def replace_settings(session: Session, settings: TelephonySettings) -> bool:
    """Store `settings` in place of the current ones; True if they number differently, so the
    stored numbers must be normalized again."""
    before = TelephonySettings.load(session).fingerprint()
    settings.save(session)
    return before != settings.fingerprint()


def service_types(session: Session) -> list[ServiceType]:
    """The active service types, by name: the choice of a call's default service type."""
    return list(
        session.scalars(
            select(ServiceType).where(ServiceType.active.is_(True)).order_by(ServiceType.name)
        )
    )


class SettingsCache:
    """Telephony settings for hot paths (every call event), at most `ttl` seconds old.

    One server invalidates at once on save; other servers of a team see the change within
    `ttl`, which is what "takes effect without restart" needs.
    """

    ttl = 2.0
    _lock = threading.Lock()
    _cached: tuple[float, str, TelephonySettings] | None = None

    @classmethod
    def get(cls, session: Session) -> TelephonySettings:
        key = str(session.get_bind().engine.url)
        with cls._lock:
            cached = cls._cached
        if cached and cached[1] == key and time.monotonic() - cached[0] < cls.ttl:
            return cached[2]
        value = TelephonySettings.load(session)
        with cls._lock:
            cls._cached = (time.monotonic(), key, value)
        return value

    @classmethod
    def invalidate(cls) -> None:
        with cls._lock:
            cls._cached = None


def numbering_plan(settings: TelephonySettings) -> NumberingPlan:
    """The numbering plan the numbers module works with, from Settings > Telephony."""
    return NumberingPlan(
        country=settings.country,
        area_code=settings.area_code,
        outside_line=settings.outside_line,
        incoming_with_outside_line=settings.incoming_with_outside_line,
        internal_max_length=settings.internal_max_length,
    )
