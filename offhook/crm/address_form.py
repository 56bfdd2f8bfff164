"""The address form: its content as typed, read and checked from a submitted form, and saved
with the address's numbers normalized."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from offhook.crm.addresses import contact_count
from offhook.crm.forms import Form
from offhook.directory.names import (
    ADDRESS_KINDS,
    CHANNEL_KINDS,
    NUMBER_KINDS,
    country_name,
    normalize_address,
)
from offhook.numbers import parse_incoming
from offhook.settings import language
from offhook.settings.language import N_, _
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store.models import Address, Channel

# Text fields of the form: name → (label in messages, longest allowed).
FIELDS: dict[str, tuple[str, int]] = {
    "salutation": (N_("salutation"), 80),
    "first_name": (N_("first name"), 200),
    "last_name": (N_("last name"), 200),
    "company_name": (N_("company name"), 300),
    "position": (N_("position"), 200),
    "street": (N_("street"), 300),
    "postcode": (N_("postcode"), 20),
    "city": (N_("city"), 200),
    "notes": (N_("notes"), 20_000),
}
PERSON_FIELDS = ("salutation", "first_name", "last_name", "position")
MAX_CHANNELS = 40
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def countries() -> list[tuple[str, str]]:
    """(code, name) of every country a phone number can belong to, by name in the user's
    language."""
    return _countries(language.current())


@cache
def _countries(_locale: str) -> list[tuple[str, str]]:
    return sorted(
        ((code, country_name(code)) for code in phonenumbers.SUPPORTED_REGIONS),
        key=lambda item: item[1],
    )


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


def country_of(number: str, settings: TelephonySettings) -> str:
    """The country a caller's number belongs to (+33 … is France), else the firm's own."""
    parsed = parse_incoming(number, numbering_plan(settings)) if number else None
    if parsed is None or parsed.e164 is None:
        return settings.country
    region = phonenumbers.region_code_for_number(phonenumbers.parse(parsed.e164))
    return region if region in phonenumbers.SUPPORTED_REGIONS else settings.country


def blank(settings: TelephonySettings, number: str = "") -> AddressInput:
    """A new address; with `number` (from the journal) a phone channel holding it."""
    values = dict.fromkeys(FIELDS, "")
    values |= {"kind": "person", "country": country_of(number, settings), "company": ""}
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
        form.error("company", _("Choose the company this person works for."))
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
        form.error(
            "company",
            _("Several companies are named “{name}”: choose one from the list.").format(name=name),
        )
    else:
        form.error(
            "company",
            _(
                "There is no company named “{name}”. Create the company first, then choose it here."
            ).format(name=name),
        )
    return None


def read(session: Session, form: Form, address: Address | None = None) -> AddressInput:
    values = {name: form.text(name, label, limit) for name, (label, limit) in FIELDS.items()}
    values["kind"] = kind = form.get("kind")
    values["company"] = form.get("company")
    values["country"] = country = form.get("country").upper()
    if kind not in ADDRESS_KINDS:
        form.error("kind", _("Choose person, company or contact person."))
    if kind == "company" and not values["company_name"]:
        form.error("company_name", _("Please enter the company's name."))
    if kind in ("person", "contact") and not (values["first_name"] or values["last_name"]):
        form.error("last_name", _("Please enter a name."))
    if country and country not in phonenumbers.SUPPORTED_REGIONS:
        form.error(
            "country",
            _("“{country}” is no country code; choose one from the list.").format(country=country),
        )
    contacts = contact_count(session, address.id) if address and address.kind == "company" else 0
    if contacts and kind != "company":
        form.error(
            "kind",
            _("This company has {count} contact person(s); it must stay a company.").format(
                count=contacts
            ),
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
