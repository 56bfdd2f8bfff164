"""Addresses on the CRM pages: finding one among a million, the address form, its page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import phonenumbers
from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from offhook.crm.calls import with_details
from offhook.crm.forms import Form
from offhook.crm.paging import PAGE_SIZE
from offhook.crm.queries import LIKE_ESCAPE, escape_like
from offhook.directory.lookup import lookup, read_incoming
from offhook.directory.names import (
    ADDRESS_KINDS,
    CHANNEL_KINDS,
    NUMBER_KINDS,
    country_name,
    display_name,
    full_address,
    normalize_address,
)
from offhook.journal import entries as journal
from offhook.numbers import NumberKind, parse
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store.models import (
    Activity,
    Address,
    Call,
    Channel,
    Line,
    Project,
    Service,
)

# Text fields of the form: name → (label in messages, longest allowed).
FIELDS: dict[str, tuple[str, int]] = {
    "salutation": ("salutation", 80),
    "first_name": ("first name", 200),
    "last_name": ("last name", 200),
    "company_name": ("company name", 300),
    "position": ("position", 200),
    "street": ("street", 300),
    "postcode": ("postcode", 20),
    "city": ("city", 200),
    "notes": ("notes", 20_000),
}
PERSON_FIELDS = ("salutation", "first_name", "last_name", "position")
MAX_CHANNELS = 40
MAX_TOKENS = 5
RECENT = 10
CONTACTS_SHOWN = 100  # a company page lists this many; the search finds the others
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMBER_LIKE = re.compile(r"^[\d\s+()./\-]+$")


@cache
def countries() -> list[tuple[str, str]]:
    """(code, name) of every country a phone number can belong to, by name."""
    return sorted(
        ((code, country_name(code)) for code in phonenumbers.SUPPORTED_REGIONS),
        key=lambda item: item[1],
    )


# --- finding addresses ---------------------------------------------------------------------------


def _case_variants(token: str) -> set[str]:
    """The token as lower() in the database may have turned the stored text: PostgreSQL
    lowers every letter, SQLite only A-Z (so "Ärzte" stays "Ärzte" there)."""

    def ascii_lower(text: str) -> str:
        return "".join(c.lower() if c.isascii() else c for c in text)

    return {token.lower(), ascii_lower(token), ascii_lower(token[:1].upper() + token[1:])}


def _starts_with(column: Any, token: str, dialect: str) -> ColumnElement[bool]:
    """Word-start match, case-insensitive: "mül" finds "Müller".

    A prefix, not a substring, so that an index can serve it: on PostgreSQL an index on
    `lower(column) text_pattern_ops` serves the LIKE; SQLite uses an index on `lower(column)`
    for a range only, so the range is added there (U+10FFFF sorts after every character in
    SQLite's byte order). Without such indexes the same query scans the table."""
    lowered = func.lower(column)
    clauses = []
    for variant in sorted(_case_variants(token)):
        like: ColumnElement[bool] = lowered.like(f"{escape_like(variant)}%", escape=LIKE_ESCAPE)
        if dialect == "sqlite":
            like = and_(lowered >= variant, lowered < variant + "\U0010ffff", like)
        clauses.append(like)
    return or_(*clauses)


def _token_clause(token: str, dialect: str) -> ColumnElement[bool]:
    company = aliased(Address)
    own = [
        _starts_with(column, token, dialect)
        for column in (
            Address.last_name,
            Address.first_name,
            Address.company_name,
            Address.city,
            Address.postcode,
        )
    ]
    # Contact persons are found by their company's name and place too (they are reached at
    # the company's address).
    of_company = Address.company_id.in_(
        select(company.id).where(
            company.kind == "company",
            or_(
                _starts_with(company.company_name, token, dialect),
                _starts_with(company.city, token, dialect),
            ),
        )
    )
    return or_(*own, of_company)


def looks_like_number(q: str) -> bool:
    return bool(_NUMBER_LIKE.match(q)) and sum(c.isdigit() for c in q) >= 3


def search_query(
    q: str, settings: TelephonySettings, dialect: str
) -> tuple[Select[Any], str | None]:
    """The addresses fitting `q` (unordered), and the E.164 number searched for if `q` is a
    phone number."""
    query = select(Address).options(joinedload(Address.company), selectinload(Address.channels))
    q = q.strip()
    e164 = None
    if q and looks_like_number(q):
        parsed = parse(q, numbering_plan(settings))
        if parsed.kind is NumberKind.EXTERNAL and parsed.e164:
            e164 = parsed.e164
            query = query.where(
                Address.id.in_(select(Channel.address_id).where(Channel.e164 == e164))
            )
    if e164 is None and q:
        tokens = [t for t in re.split(r"[\s,]+", q) if t][:MAX_TOKENS]
        query = query.where(and_(*(_token_clause(token, dialect) for token in tokens)))
    return query, e164


# The list's order is that of the index ix_addresses_sort (the sort name, then the id, which
# makes it total): the database reads one page off the index and stops, on any page.
SORT_KEY = (Address.sort_name, Address.id)


@dataclass(frozen=True, slots=True)
class AddressPage:
    """One page of addresses, reached by the address before or after it rather than by a
    page number: page 20,000 of a million addresses is as fast as page 1."""

    items: list[Address]
    has_prev: bool
    has_next: bool

    @property
    def first_id(self) -> int | None:
        return self.items[0].id if self.items else None

    @property
    def last_id(self) -> int | None:
        return self.items[-1].id if self.items else None


def _anchor(session: Session, address_id: int | None) -> tuple[str, int] | None:
    """The sort key of the address a page starts after (or ends before)."""
    if address_id is None:
        return None
    row = session.execute(select(*SORT_KEY).where(Address.id == address_id)).first()
    return (row[0], row[1]) if row else None


def search(
    session: Session,
    q: str,
    settings: TelephonySettings,
    after: int | None = None,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> tuple[AddressPage, str | None]:
    """A page of the addresses fitting `q`: the first, the one after the address `after`, or
    the one before the address `before`."""
    query, e164 = search_query(q, settings, session.get_bind().dialect.name)
    key = tuple_(*SORT_KEY)
    backwards = _anchor(session, before)
    forwards = None if backwards else _anchor(session, after)
    if backwards is not None:
        query = query.where(key < tuple_(*backwards)).order_by(*(c.desc() for c in SORT_KEY))
    else:
        if forwards is not None:
            query = query.where(key > tuple_(*forwards))
        query = query.order_by(*SORT_KEY)
    rows = list(session.scalars(query.limit(size + 1)).unique())
    more = len(rows) > size
    rows = rows[:size]
    if backwards is not None:
        return AddressPage(rows[::-1], has_prev=more, has_next=True), e164
    return AddressPage(rows, has_prev=forwards is not None, has_next=more), e164


def suggestions(session: Session, q: str, settings: TelephonySettings) -> list[dict[str, Any]]:
    """A few addresses for a picker as the user types."""
    if not q.strip():
        return []
    page, _ = search(session, q, settings, size=12)
    return [
        {
            "id": a.id,
            "name": display_name(a),
            "city": a.city or (a.company.city if a.company else ""),
        }
        for a in page.items
    ]


def first_number(address: Address) -> Channel | None:
    return next((c for c in address.channels if c.kind in NUMBER_KINDS), None)


# --- one address ---------------------------------------------------------------------------------


def load(session: Session, address_id: int) -> Address | None:
    return session.scalar(
        select(Address)
        .where(Address.id == address_id)
        .options(
            joinedload(Address.company).selectinload(Address.channels),
            selectinload(Address.channels),
        )
    )


def detail(
    session: Session, address: Address, settings: TelephonySettings, user_id: int, is_admin: bool
) -> dict[str, Any]:
    """What the address page shows. Activities, services and calls are the user's own
    (an admin sees everybody's)."""
    owners = [address.id] + ([address.company_id] if address.company_id else [])
    projects = list(
        session.scalars(
            select(Project)
            .where(Project.customer_id.in_(owners))
            .options(joinedload(Project.customer).joinedload(Address.company))
            .order_by(Project.active.desc(), Project.code)
        )
    )
    activities = select(Activity).where(Activity.address_id == address.id)
    services = select(Service).where(Service.address_id == address.id)
    calls = select(Call).where(Call.address_id == address.id)
    if not is_admin:
        activities = activities.where(Activity.user_id == user_id)
        services = services.where(Service.user_id == user_id)
        calls = calls.where(Call.line_id.in_(select(Line.id).where(Line.user_id == user_id)))
    recent_calls = list(
        session.scalars(
            with_details(calls).order_by(Call.started_at.desc(), Call.id.desc()).limit(RECENT)
        ).unique()
    )
    return {
        "address": address,
        "heading": display_name(address),
        "full_address": full_address(address, settings.country),
        "contacts": list(
            session.scalars(
                select(Address)
                .where(Address.company_id == address.id)
                .options(joinedload(Address.company), selectinload(Address.channels))
                .order_by(Address.last_name, Address.first_name, Address.id)
                .limit(CONTACTS_SHOWN)
            )
        ),
        "contact_count": contact_count(session, address.id),
        "projects": projects,
        "activities": list(
            session.scalars(
                activities.options(joinedload(Activity.project), joinedload(Activity.user))
                .order_by(Activity.occurred_at.desc(), Activity.id.desc())
                .limit(RECENT)
            )
        ),
        "services": list(
            session.scalars(
                services.options(joinedload(Service.project), joinedload(Service.user))
                .order_by(Service.day.desc(), Service.started_at.desc(), Service.id.desc())
                .limit(RECENT)
            )
        ),
        "calls": journal.entries(session, recent_calls, settings),
        "country": country_name(address.country)
        if address.country and address.country.upper() != settings.country
        else "",
    }


def contact_count(session: Session, company_id: int) -> int:
    return int(
        session.scalar(select(func.count(Address.id)).where(Address.company_id == company_id)) or 0
    )


def deletion_impact(session: Session, address: Address) -> dict[str, int]:
    """What deleting the address touches, for the confirmation page."""

    def count(query: Select[Any]) -> int:
        return int(session.scalar(query) or 0)

    return {
        "channels": len(address.channels),
        "contacts": contact_count(session, address.id),
        "projects": count(select(func.count(Project.id)).where(Project.customer_id == address.id)),
        "activities": count(
            select(func.count(Activity.id)).where(Activity.address_id == address.id)
        ),
        "services": count(select(func.count(Service.id)).where(Service.address_id == address.id)),
        "calls": count(select(func.count(Call.id)).where(Call.address_id == address.id)),
    }


# --- the address form ----------------------------------------------------------------------------


@dataclass
class AddressInput:
    """The address form's content, as typed: read from a submitted form or from an address."""

    values: dict[str, str]
    channels: list[dict[str, str]]
    errors: dict[str, str] = field(default_factory=dict)
    company_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def blank(settings: TelephonySettings, number: str = "") -> AddressInput:
    """A new address; with `number` (from the journal) a phone channel holding it."""
    values = dict.fromkeys(FIELDS, "")
    values |= {"kind": "person", "country": settings.country, "company": ""}
    channels = [{"id": "", "kind": "phone", "value": number, "label": ""}]
    if not number:
        channels.append({"id": "", "kind": "email", "value": "", "label": ""})
    return AddressInput(values, channels)


def of_address(address: Address) -> AddressInput:
    values = {name: str(getattr(address, name) or "") for name in FIELDS}
    values |= {
        "kind": address.kind,
        "country": address.country,
        "company": address.company.company_name if address.company else "",
    }
    channels = [
        {"id": str(c.id), "kind": c.kind, "value": c.value, "label": c.label}
        for c in address.channels
    ]
    return AddressInput(values, channels, company_id=address.company_id)


def _read_channels(form: Form) -> tuple[list[dict[str, str]], dict[str, str]]:
    kinds, values = form.getlist("ch_kind"), form.getlist("ch_value")
    labels, ids = form.getlist("ch_label"), form.getlist("ch_id")
    rows: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    for index, (kind, value) in enumerate(zip(kinds, values, strict=False)):
        label = labels[index] if index < len(labels) else ""
        row_id = ids[index] if index < len(ids) else ""
        if not value:
            continue  # an empty row is a row not used
        row = {
            "id": row_id if row_id.isdigit() else "",
            "kind": kind,
            "value": value,
            "label": label,
        }
        key = f"channel-{len(rows)}"
        if kind not in CHANNEL_KINDS:
            errors[key] = "Choose phone, mobile, fax or e-mail."
        elif len(value) > 300 or len(label) > 80:
            errors[key] = "Too long: at most 300 characters, and 80 for the label."
        elif kind == "email" and not _EMAIL.match(value):
            errors[key] = f"“{value}” is no e-mail address; write it like name@example.com."
        rows.append(row)
    if len(rows) > MAX_CHANNELS:
        errors["channels"] = f"At most {MAX_CHANNELS} numbers and e-mail addresses."
    return rows, errors


def _read_company(session: Session, form: Form, values: dict[str, str]) -> int | None:
    """The company of a contact person: the one picked from the list, else the one company
    with exactly this name."""
    name, picked = values["company"], form.ref("company_id")
    if not name:
        form.error("company", "Choose the company this person works for.")
        return None
    if picked is not None:
        chosen = session.get(Address, picked)
        if chosen is not None and chosen.kind == "company" and chosen.company_name == name:
            return chosen.id
    same_name = list(
        session.scalars(
            select(Address.id)
            .where(Address.kind == "company", Address.company_name == name)
            .limit(2)
        )
    )
    if len(same_name) == 1:
        return same_name[0]
    if same_name:
        form.error("company", f"Several companies are named “{name}”: choose one from the list.")
    else:
        form.error(
            "company",
            f"There is no company named “{name}”. Create the company first, then choose it here.",
        )
    return None


def read(session: Session, form: Form, address: Address | None = None) -> AddressInput:
    values = {name: form.text(name, label, limit) for name, (label, limit) in FIELDS.items()}
    values["kind"] = kind = form.get("kind")
    values["company"] = form.get("company")
    values["country"] = country = form.get("country").upper()
    if kind not in ADDRESS_KINDS:
        form.error("kind", "Choose person, company or contact person.")
    if kind == "company" and not values["company_name"]:
        form.error("company_name", "Please enter the company's name.")
    if kind in ("person", "contact") and not (values["first_name"] or values["last_name"]):
        form.error("last_name", "Please enter a name.")
    if country and country not in phonenumbers.SUPPORTED_REGIONS:
        form.error("country", f"“{country}” is no country code; choose one from the list.")
    contacts = contact_count(session, address.id) if address and address.kind == "company" else 0
    if contacts and kind != "company":
        form.error(
            "kind",
            f"This company has {contacts} contact person(s); it must stay a company.",
        )
    company_id = _read_company(session, form, values) if kind == "contact" else None
    channels, channel_errors = _read_channels(form)
    return AddressInput(values, channels, {**form.errors, **channel_errors}, company_id)


def save(
    session: Session, address: Address | None, data: AddressInput, settings: TelephonySettings
) -> Address:
    """Create or update the address and normalize its numbers, in the caller's transaction."""
    if address is None:
        address = Address(kind=data.values["kind"])
        session.add(address)
    was_company = address.kind == "company"
    kind = data.values["kind"]
    for name in FIELDS:
        setattr(address, name, data.values[name])
    if kind == "company":
        for name in PERSON_FIELDS:
            setattr(address, name, "")
    elif was_company and address.id is not None:
        address.company_name = ""  # a former company's name would show as a person's company
    address.kind = kind
    address.country = data.values["country"]
    address.company_id = data.company_id if kind == "contact" else None
    address.company = session.get(Address, data.company_id) if address.company_id else None
    existing = {c.id: c for c in address.channels}
    channels = []
    for position, row in enumerate(data.channels):
        channel = existing.pop(int(row["id"]), None) if row["id"] else None
        channel = channel or Channel()
        channel.kind, channel.value, channel.label = row["kind"], row["value"], row["label"]
        channel.position = position
        channels.append(channel)
    address.channels = channels  # channels left out are deleted (delete-orphan)
    normalize_address(address, numbering_plan(settings), settings.fingerprint())
    session.flush()
    return address


def not_normalized(address: Address) -> list[Channel]:
    return [c for c in address.channels if c.kind in NUMBER_KINDS and c.normalize_error]


def link_call(
    session: Session, user_id: int, call_id: int, address: Address, settings: TelephonySettings
) -> bool:
    """Make the user's call point to `address`: the one they chose among the several its number
    belongs to, or the one just created for an unknown number. The choice sticks for the call.
    Only the user's own calls; False if the call is not theirs."""
    call = journal.user_call(session, user_id, call_id)
    if call is None:
        return False
    parsed = read_incoming(call.remote_number, settings)
    session.flush()  # an address just created is found like any other
    match = next(
        (m for m in lookup(session, parsed, settings.country) if m.address_id == address.id), None
    )
    if match is not None:
        call.channel_id, call.match = match.channel_id, match.match
    else:
        # Not in the number index yet: its channel with the very number, if it has one.
        channel = next((c for c in address.channels if parsed.e164 and c.e164 == parsed.e164), None)
        call.channel_id = channel.id if channel else None
        call.match = "exact" if channel else None
    call.address_id = address.id
    call.address_chosen = True
    return True
