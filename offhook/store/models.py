"""The store: every table offhook keeps, as SQLAlchemy 2 models.

Names follow the glossary (README, "How it is built"). The store imports nothing else of
offhook: every other area builds on it. Schema changes go through Alembic migrations in
`offhook/store/migrations`; the models here must always match the newest migration (a test
checks that).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from offhook.store.types import UTCDateTime, utcnow

# Stable constraint names, so migrations can name what they alter on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


# --- people and access -------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="user")  # "admin" | "user"
    # Internal extension, so a call from a colleague's desk phone is shown with their name.
    extension: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[Line]] = relationship(back_populates="user")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Only a hash is kept: a leaked database does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginSession(Base):
    """A browser's login. The cookie carries only a random id, of which only a hash is kept:
    deleting the row ends the session wherever its cookie went (logout, new password,
    deactivation)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    user: Mapped[User] = relationship()


class Preference(Base):
    """Per-user preferences, e.g. the journal panel's position and size."""

    __tablename__ = "preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict[str, Any]]


class Setting(Base):
    """Firm-wide settings (Settings > Telephony …), one JSON document per group."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- drivers, phone systems and lines ----------------------------------------------------------


class InstalledDriver(Base):
    """A driver as installed in Settings > Interfaces > Extensions (the seed's word for it)."""

    __tablename__ = "installed_drivers"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    installed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Without auto load the driver is not started with the server: its lines get no calls.
    auto_load: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[datetime | None]


class PhoneSystem(Base):
    """One connection to a phone system (an Asterisk, a cloud PBX account, a softphone),
    configured once by an admin and serving the lines of many users."""

    __tablename__ = "phone_systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    driver: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[Line]] = relationship(
        back_populates="phone_system", cascade="all, delete-orphan", passive_deletes=True
    )


class Line(Base):
    """A user's line on a phone system: their extension, device or number there."""

    __tablename__ = "lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    phone_system_id: Mapped[int] = mapped_column(
        ForeignKey("phone_systems.id", ondelete="CASCADE"), index=True
    )
    # The phone system's driver, kept here too (it never changes) so that the journal and the
    # line lists need no join to know what a line can do.
    driver: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(200))  # extension, device, number, SIP URI …
    label: Mapped[str] = mapped_column(String(200), default="")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="lines")
    phone_system: Mapped[PhoneSystem] = relationship(back_populates="lines")

    @property
    def title(self) -> str:
        return self.label or self.address


class AgentToken(Base):
    """What lets an agent (a program on a PC that brings a line only the PC can see, such as a
    TAPI line) serve lines of one phone system: only the lines named here, until revoked."""

    __tablename__ = "agent_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_system_id: Mapped[int] = mapped_column(
        ForeignKey("phone_systems.id", ondelete="CASCADE"), index=True
    )
    # Who created it: an admin (any line of the phone system) or a user (their own lines).
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Only a hash is kept: a leaked database does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    line_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


# --- CRM ---------------------------------------------------------------------------------------


SORT_NAME_TYPE = String(500).with_variant(String(500, collation="C"), "postgresql")


class Address(Base):
    """A person, a company, or a contact person (a person at a company)."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "person" | "company" | "contact"
    salutation: Mapped[str] = mapped_column(String(80), default="")
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    company_name: Mapped[str] = mapped_column(String(300), default="")
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("addresses.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[str] = mapped_column(String(200), default="")
    street: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="")  # ISO 3166 alpha-2
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    company: Mapped[Address | None] = relationship(remote_side=[id], back_populates="contacts")
    contacts: Mapped[list[Address]] = relationship(back_populates="company")
    channels: Mapped[list[Channel]] = relationship(
        back_populates="address", cascade="all, delete-orphan", order_by="Channel.position"
    )

    # The address list's order, kept by `_keep_sort_name` (see `sort_name`); compared byte by
    # byte on PostgreSQL too, as on SQLite, whatever the database's locale.
    sort_name: Mapped[str] = mapped_column(SORT_NAME_TYPE, default="", server_default="")

    __table_args__ = (Index("ix_addresses_sort", "sort_name", "id"),)


def sort_name(first_name: str | None, last_name: str | None, company_name: str | None) -> str:
    """Where an address goes in the address list: people by last name, then first name,
    companies by name, alphabetically as people read it: in any case, "Ärztehaus" with the
    A's and "Zoë" as "Zoe". Computed here, not by the database, so that SQLite and
    PostgreSQL (whatever its collation) list the same order."""
    return f"{_folded(last_name or company_name)} {_folded(first_name)}".strip()[:500]


def _folded(text: str | None) -> str:
    # None: a new address's fields before their column defaults apply.
    decomposed = unicodedata.normalize("NFKD", text or "")
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


@event.listens_for(Address, "before_insert")
@event.listens_for(Address, "before_update")
def _keep_sort_name(mapper: Any, connection: Any, address: Address) -> None:
    address.sort_name = sort_name(address.first_name, address.last_name, address.company_name)


# The address search matches word prefixes in any case (offhook.crm.address_search).
for _column in ("last_name", "first_name", "company_name", "city", "postcode"):
    Index(
        f"ix_addresses_{_column}_lower",
        func.lower(Address.__table__.c[_column]).label(f"{_column}_lower"),
        postgresql_ops={f"{_column}_lower": "text_pattern_ops"},
    )


class Channel(Base):
    """A communication channel: phone, mobile, fax number or e-mail of an address.

    A number is kept as entered (`value`) and normalized (`e164`, `number_kind`); the lookup of a
    caller runs on `e164` and, for company switchboards, on `block_prefix`.
    """

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # "phone" | "mobile" | "fax" | "email"
    label: Mapped[str] = mapped_column(String(80), default="")
    value: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)
    e164: Mapped[str | None] = mapped_column(String(20))
    number_kind: Mapped[str | None] = mapped_column(String(20))
    block_prefix: Mapped[str | None] = mapped_column(String(20))
    normalize_error: Mapped[str | None] = mapped_column(String(300))
    # Which telephony settings the normalized form was computed with; a change re-normalizes.
    normalized_with: Mapped[str | None] = mapped_column(String(64))

    address: Mapped[Address] = relationship(back_populates="channels")

    __table_args__ = (
        Index("ix_channels_address_id", "address_id"),
        Index("ix_channels_e164", "e164"),
        Index("ix_channels_block_prefix", "block_prefix"),
    )


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("addresses.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Address | None] = relationship()


class ServiceType(Base):
    __tablename__ = "service_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# --- calls and the work made of them -----------------------------------------------------------


class Call(Base):
    """One call on one line: its whole history, built from its call events."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"))
    call_ref: Mapped[str] = mapped_column(String(200))
    # Set while offhook dials: the driver reports it until the phone system's reference is known.
    dial_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # True when the driver said why the call ended; False when offhook inferred it.
    end_reason_given: Mapped[bool] = mapped_column(Boolean, default=False)
    hangup_by: Mapped[str | None] = mapped_column(String(20))
    # Set when offhook, not the phone system, ended the call (reconciliation, ring timeout).
    ended_by_offhook: Mapped[str | None] = mapped_column(String(200))
    remote_number: Mapped[str] = mapped_column(String(300), default="")
    remote_name: Mapped[str] = mapped_column(String(300), default="")
    remote_e164: Mapped[str | None] = mapped_column(String(20))
    remote_kind: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime]
    connected_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The caller found among the addresses (or chosen by the user among several).
    address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id", ondelete="SET NULL"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    colleague_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    match: Mapped[str | None] = mapped_column(String(20))  # exact | switchboard | internal
    match_count: Mapped[int] = mapped_column(Integer, default=0)
    address_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    # A call that rang on several lines (a ring group) and was answered on another: by whom.
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A missed call stays open work until the caller is reached or a user marks it done.
    missed_closed_at: Mapped[datetime | None]
    missed_closed_how: Mapped[str | None] = mapped_column(String(20))  # called_back|answered|done

    line: Mapped[Line] = relationship()
    address: Mapped[Address | None] = relationship()
    channel: Mapped[Channel | None] = relationship()
    colleague: Mapped[User | None] = relationship(foreign_keys=[colleague_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    __table_args__ = (
        UniqueConstraint("line_id", "call_ref", name="uq_calls_line_ref"),
        # One call ringing on several lines of a phone system shares its reference.
        Index("ix_calls_call_ref", "call_ref"),
        Index("ix_calls_line_started", "line_id", "started_at"),
        Index("ix_calls_open", "state"),
        # The caller lookup ranks the address last chosen for a number first.
        Index("ix_calls_remote_e164", "remote_e164", "started_at"),
        # The unbilled calls and their charts: the whole firm's calls of a period, and the
        # calls of one address (offhook.crm.unbilled).
        Index("ix_calls_started", "started_at"),
        Index("ix_calls_address_started", "address_id", "started_at"),
    )


class NotBillable(Base):
    """A connected call with a client that its user marked as not to be billed (a wrong
    number, a call of courtesy), so that the list of unbilled calls can be worked to empty."""

    __tablename__ = "not_billable_calls"

    call_id: Mapped[int] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(300), default="")
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallDaySum(Base):
    """A line's calls of one local day, summed for the charts of unbilled calls (kept by
    `offhook.store.call_sums`). Line 0 is the whole firm: the firm's charts of a year read
    365 rows instead of a million calls. `day` counts local days since 1 January 1970 in the
    zone named by `CallSumsZone`."""

    __tablename__ = "call_day_sums"

    line_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Connected calls with clients, their seconds, the minutes booked of them, the unbooked.
    client_calls: Mapped[int] = mapped_column(Integer, default=0)
    client_seconds: Mapped[int] = mapped_column(Integer, default=0)
    booked_minutes: Mapped[int] = mapped_column(Integer, default=0)
    unbooked: Mapped[int] = mapped_column(Integer, default=0)
    # Missed incoming calls by how soon their number was called back (`CALLBACK_BUCKETS`).
    back_15m: Mapped[int] = mapped_column(Integer, default=0)
    back_1h: Mapped[int] = mapped_column(Integer, default=0)
    back_4h: Mapped[int] = mapped_column(Integer, default=0)
    back_1d: Mapped[int] = mapped_column(Integer, default=0)
    back_7d: Mapped[int] = mapped_column(Integer, default=0)
    not_back: Mapped[int] = mapped_column(Integer, default=0)
    withheld: Mapped[int] = mapped_column(Integer, default=0)

    # SQLite keeps these rows in their key's order (no rowid): a period's sums are read as
    # they lie, without a look-up of each row (about 3 times faster for the firm's year).
    __table_args__ = ({"sqlite_with_rowid": False},)


class CallHourSum(Base):
    """A line's incoming calls (and the missed ones) of one local hour of one local day; line
    0 is the whole firm (see `CallDaySum`)."""

    __tablename__ = "call_hour_sums"

    line_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    incoming: Mapped[int] = mapped_column(Integer, default=0)
    missed: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = ({"sqlite_with_rowid": False},)


class CallerDaySum(Base):
    """The firm's calls with one address on one local day (both directions) and their
    connected seconds: the top callers of a period (see `CallDaySum`)."""

    __tablename__ = "caller_day_sums"

    address_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # The days of a short period, of every address (see `CallerBlockSum`).
        Index("ix_caller_day_sums_day", "day", "address_id", "calls", "seconds"),
        {"sqlite_with_rowid": False},
    )


class CallerBlockSum(Base):
    """`CallerDaySum` over four weeks (`block` = (day + 3) // 28: Monday to Sunday four times):
    the top callers of a year read about 14 blocks per address, not 365 days (see
    `offhook.crm.call_figures.top_callers`)."""

    __tablename__ = "caller_block_sums"

    # Keyed block first: a period's blocks are read as they lie (without rowid on SQLite).
    block: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    address_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = ({"sqlite_with_rowid": False},)


class CallSumsZone(Base):
    """The time zone the sums' days and hours are in (one row). While it is not the firm's
    zone the sums are not read (the figures count the calls) and not kept up to date."""

    __tablename__ = "call_sums_zone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    zone: Mapped[str] = mapped_column(String(80))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallEventRecord(Base):
    """Every call event as received: the audit trail behind each call."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Activity(Base):
    """A dated record of an interaction, here a phone call."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    address_id: Mapped[int | None] = mapped_column(
        ForeignKey("addresses.id", ondelete="SET NULL"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default="call")
    occurred_at: Mapped[datetime]
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    address: Mapped[Address | None] = relationship()
    project: Mapped[Project | None] = relationship()
    call: Mapped[Call | None] = relationship()


class Service(Base):
    """A time entry: billable work of a user on a project."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    service_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_types.id", ondelete="SET NULL")
    )
    address_id: Mapped[int | None] = mapped_column(
        ForeignKey("addresses.id", ondelete="SET NULL"), index=True
    )
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    minutes: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    project: Mapped[Project | None] = relationship()
    service_type: Mapped[ServiceType | None] = relationship()
    address: Mapped[Address | None] = relationship()
    call: Mapped[Call | None] = relationship()

    __table_args__ = (Index("ix_services_user_day", "user_id", "day"),)
