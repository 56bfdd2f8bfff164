"""Addresses as people read them, and keeping their numbers normalized."""

from __future__ import annotations

from collections.abc import Iterable

import pycountry

from offhook.directory.normalization.values import normalized
from offhook.numbers import NumberingPlan
from offhook.settings.language import N_, babel_locale
from offhook.store.models import Address, Channel

NUMBER_KINDS = ("phone", "mobile", "fax")
CHANNEL_KINDS = (*NUMBER_KINDS, "email")
CHANNEL_LABELS = {
    "phone": N_("Phone"),
    "mobile": N_("Mobile"),
    "fax": N_("Fax"),
    "email": N_("E-mail"),
}
ADDRESS_KINDS = {"person": N_("Person"), "company": N_("Company"), "contact": N_("Contact person")}


def person_name(address: Address) -> str:
    return " ".join(part for part in (address.first_name, address.last_name) if part)


def display_name(address: Address) -> str:
    """How an address is named in lists and in the journal: "Anna Müller, Muster AG"."""
    if address.kind == "company":
        return address.company_name or "(company without name)"
    name = person_name(address) or "(no name)"
    company = address.company.company_name if address.company else address.company_name
    return f"{name}, {company}" if company else name


def country_name(code: str) -> str:
    """A country code's name in the user's language ("CH" → "Schweiz", "Switzerland"); the code
    if unknown. Babel's
    (CLDR's) names cover the regions phone numbers have beyond ISO 3166 (AC is Ascension
    Island, TA Tristan da Cunha, XK Kosovo)."""
    if not code:
        return ""
    name = babel_locale().territories.get(code.upper())
    if name:
        return str(name)
    country = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return code.upper()
    return str(getattr(country, "common_name", None) or country.name)


def full_address(address: Address, home_country: str = "") -> str:
    """The complete postal address, one line per line, as shown in the journal's hint."""
    lines: list[str] = []
    if address.kind == "company":
        lines.append(address.company_name)
    else:
        lines.append(" ".join(p for p in (address.salutation, person_name(address)) if p))
        if address.position:
            lines.append(address.position)
        company = address.company.company_name if address.company else address.company_name
        if company:
            lines.append(company)
    source = address
    if not address.street and not address.city and address.company is not None:
        source = address.company  # a contact person is reached at the company's address
    if source.street:
        lines.append(source.street)
    city = " ".join(p for p in (source.postcode, source.city) if p)
    if city:
        lines.append(city)
    if source.country and source.country.upper() != home_country.upper():
        lines.append(country_name(source.country))
    return "\n".join(line for line in lines if line)


def address_country(address: Address | None) -> str:
    """The country an address's numbers are written for: its own, else its company's."""
    if address is None:
        return ""
    return (address.country or (address.company.country if address.company else "")).upper()


def normalize_channel(
    channel: Channel, plan: NumberingPlan, fingerprint: str, address: Address | None = None
) -> None:
    """Fill a channel's normalized fields from what was entered.

    The rule is the bulk job's (`offhook.directory.normalization.normalized`): a foreign
    client's number written the local way there ("089 3816 230" in Munich) is read in that country.
    """
    values = normalized(
        channel.kind, channel.value, plan, address_country(address or channel.address)
    )
    channel.e164, channel.number_kind, channel.block_prefix, channel.normalize_error = values
    channel.normalized_with = fingerprint


def normalize_address(
    address: Address, plan: NumberingPlan, fingerprint: str, channels: Iterable[Channel] = ()
) -> None:
    """Every save of an address normalizes its numbers."""
    for channel in [*address.channels, *channels]:
        normalize_channel(channel, plan, fingerprint, address)
