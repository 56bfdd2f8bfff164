"""Numbers typed into addresses: read in the address's own country when they are written the
local way there."""

from __future__ import annotations

from offhook.directory.names import address_country, full_address
from offhook.directory.normalization.values import normalized
from offhook.numbers import NumberingPlan
from offhook.store.models import Address

HOME = NumberingPlan(country="CH", area_code="44")


def test_foreign_address_numbers_written_nationally() -> None:
    munich = Address(kind="company", company_name="Schneider GmbH", country="DE")
    assert (
        normalized("phone", "089 / 3816 - 230", HOME, address_country(munich)).e164
        == "+49893816230"
    )
    contact = Address(kind="contact", first_name="Petra", company=munich)
    assert (
        normalized("phone", "089 3816 230", HOME, address_country(contact)).e164 == "+49893816230"
    )
    # Swiss numbers of a foreign address, and numbers with a country code, stay as they are.
    assert (
        normalized("phone", "079 412 33 18", HOME, address_country(munich)).e164 == "+41794123318"
    )
    assert (
        normalized("phone", "+33 1 42 71 20 14", HOME, address_country(munich)).e164
        == "+33142712014"
    )
    # A Swiss address: the home plan with its area code.
    zurich = Address(kind="person", country="CH")
    assert normalized("phone", "668 18 12", HOME, address_country(zurich)).e164 == "+41446681812"
    assert normalized("phone", "nonsense", HOME, address_country(munich)).number_kind == "invalid"


def test_full_address_of_a_contact_uses_the_company_address() -> None:
    company = Address(
        kind="company",
        company_name="Muster AG",
        street="Bahnhofstrasse 12",
        postcode="8001",
        city="Zürich",
        country="CH",
    )
    contact = Address(
        kind="contact",
        salutation="Frau",
        first_name="Anna",
        last_name="Müller",
        position="CFO",
        company=company,
    )
    assert full_address(contact, "CH") == (
        "Frau Anna Müller\nCFO\nMuster AG\nBahnhofstrasse 12\n8001 Zürich"
    )
    assert full_address(company, "DE").endswith("8001 Zürich\nSwitzerland")
