"""Caller IDs recorded from real phone systems give the answers their sources expect.

Read in place from ../shared/conformance (never copied into the repository); skipped where the
folder is missing. Compared where our settings make the answers comparable:

- Asterisk (cacofonisk, a Dutch platform; FreePBX): the journal oracles say which number each
  line shows and, where the recording shows it, its E.164 form; extensions are colleagues;
  masked numbers ("+31260xxxxxx", presentation prohibited) are withheld and never looked up.
- FRITZ!Box call monitor (a German box, numbers as dialled nationally): an empty caller is a
  suppressed number; redacted numbers ("040xxx", "<Nummer>") are no numbers; a caller's
  number in RING and CONNECT of one connection is one number; a national number is found in
  the CRM under its international spelling.
- Cloud PBXs (sipgate, Placetel, Zammad's generic CTI): numbers come as E.164 without "+"
  (sipgate) or nationally with trunk prefix (Placetel); Zammad normalizes both to one form
  ("4930600000000"), and so must we: the same party is the same E.164, found once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from offhook.directory.lookup import lookup
from offhook.numbers import NumberingPlan, NumberKind, parse_incoming
from offhook.store import Store
from offhook.store.models import User
from tests import factories
from tests.directory.conftest import find

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
ORACLES = ("asterisk/cacofonisk/expected.json", "asterisk/freepbx-pjsip/expected.json")
FRITZBOX = "fritzbox/fritzbox_callmonitor_lines_from_public_sources.txt"
CLOUD = "cloud-push"
NL = NumberingPlan.build(country="NL")
DE = NumberingPlan.build(country="DE")


def _source(relative: str) -> Path:
    path = CONFORMANCE / relative
    if not path.exists():
        pytest.skip(f"../shared/conformance/{relative} is not beside the checkout")
    return path


def _journal_entries() -> list[dict[str, Any]]:
    entries = []
    for name in ORACLES:
        oracle = json.loads(_source(name).read_text(encoding="utf-8"))
        for key, fixture in oracle.items():
            if not key.startswith("_"):
                entries.extend(fixture.get("journal", []))
    assert len(entries) > 40
    return entries


# --- Asterisk ----------------------------------------------------------------------------------


def test_asterisk_journal_numbers_read_as_the_oracle_says() -> None:
    for entry in _journal_entries():
        shown = entry["remote_number"]
        number = parse_incoming(shown, NL)
        if entry.get("withheld"):
            assert number.kind in (NumberKind.WITHHELD, NumberKind.INVALID), shown
            assert number.e164 is None
        elif shown.isdigit() and len(shown) <= NL.internal_max_length:
            assert (number.kind, number.extension) == (NumberKind.INTERNAL, shown)
        elif "remote_e164" in entry or shown.startswith("+"):
            assert number.e164 == entry.get("remote_e164", shown), shown
        called = entry.get("called_number")
        if called and called.startswith("+"):
            assert parse_incoming(called, NL).e164 == called


def test_asterisk_callers_are_found_in_the_crm(store: Store) -> None:
    factories.telephony(store, country="NL")
    entries = _journal_entries()
    extensions = {
        e["remote_number"]
        for e in entries
        if e["remote_number"].isdigit() and len(e["remote_number"]) <= 4
    }
    users = {}
    with store.session() as session:  # colleagues (no password needed: nobody logs in)
        for extension in sorted(extensions):
            user = User(
                login=f"x{extension}",
                name=f"Extension {extension}",
                password_hash="-",
                extension=extension,
            )
            session.add(user)
            session.flush()
            users[extension] = user.id
    callers = {e.get("remote_e164", e["remote_number"]) for e in entries if not e.get("withheld")}
    addresses = {}
    for e164 in sorted(c for c in callers if c.startswith("+31") and c[1:].isdigit()):
        national = "0" + e164[3:]  # written the Dutch way in the CRM: "015 001 0001"
        written = f"{national[:3]} {national[3:6]} {national[6:]}"
        addresses[e164] = factories.address(
            store, kind="person", first="Caller", last=e164, numbers=(("phone", written),)
        ).id
    assert len(addresses) >= 2 and len(users) >= 4
    for entry in entries:
        shown = entry["remote_number"]
        matches = find(store, shown)
        if entry.get("withheld"):
            assert matches == [], shown
        elif shown in users:
            assert [(m.match, m.user_id) for m in matches] == [("internal", users[shown])]
        elif entry.get("remote_e164", shown) in addresses:
            expected = addresses[entry.get("remote_e164", shown)]
            assert [(m.match, m.address_id) for m in matches] == [("exact", expected)], shown


# --- FRITZ!Box ---------------------------------------------------------------------------------


def _fritzbox_numbers() -> list[tuple[str, str, str]]:
    """(event, connection id, remote number) of every RING, CALL and CONNECT line."""
    found = []
    for line in _source(FRITZBOX).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("<-")[0].strip().split(";")
        if len(fields) < 5:
            continue
        event, connection = fields[1], fields[2]
        where = {"RING": 3, "CALL": 5, "CONNECT": 4}.get(event)
        if where is not None and len(fields) > where:
            found.append((event, connection, fields[where]))
    assert len(found) > 15
    return found


def test_fritzbox_caller_numbers() -> None:
    rings = 0
    for event, _, text in _fritzbox_numbers():
        number = parse_incoming(text, DE)
        if text == "":
            assert number.kind is NumberKind.WITHHELD  # "suppressed caller: empty field"
            rings += event == "RING"
        elif not text.isdigit():  # redacted by the source: "040xxx", "<calling number>"
            assert number.kind is NumberKind.INVALID and number.e164 is None, text
        elif number.kind is NumberKind.EXTERNAL:
            assert number.e164 == "+49" + text[1:], text  # national, with trunk prefix
    assert rings >= 1


def test_fritzbox_one_connection_one_number() -> None:
    by_connection: dict[tuple[str, str], str] = {}
    previous: dict[str, str] = {}
    for event, connection, text in _fritzbox_numbers():
        if event in ("RING", "CALL"):
            previous[connection] = text
        elif event == "CONNECT" and connection in previous:
            by_connection[(connection, text)] = previous.pop(connection)
    pairs = [(a, b) for (_, a), b in by_connection.items() if a and b and a.isdigit()]
    assert pairs
    for connected, announced in pairs:
        first, then = parse_incoming(announced, DE), parse_incoming(connected, DE)
        assert (then.kind, then.e164, then.error) == (first.kind, first.e164, first.error)


def test_fritzbox_callers_are_found_under_their_international_spelling(store: Store) -> None:
    factories.telephony(store, country="DE")
    numbers = {
        text
        for _, _, text in _fritzbox_numbers()
        if text.isdigit() and parse_incoming(text, DE).kind is NumberKind.EXTERNAL
    }
    assert len(numbers) >= 3
    for text in sorted(numbers):
        e164 = parse_incoming(text, DE).e164
        assert e164 is not None
        formatted = phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        address = factories.address(
            store, kind="person", first="Caller", last=text, numbers=(("phone", formatted),)
        )
        assert [(m.match, m.address_id) for m in find(store, text)] == [("exact", address.id)]
    for text in ("", "040xxx", "<Nummer>"):
        with store.session() as session:
            assert lookup(session, parse_incoming(text, DE)) == []


# --- cloud PBXs --------------------------------------------------------------------------------

_CLOUD_NUMBER = re.compile(r"""(?:from|to|answeringNumber)["']?\s*[:=]\s*["']?(\d{5,}|anonymous)""")


def _cloud_numbers() -> set[str]:
    folder = _source(CLOUD)
    found: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.suffix in (".md", ".rst", ".txt") and not path.name.startswith("LICENSE"):
            found.update(_CLOUD_NUMBER.findall(path.read_text(encoding="utf-8")))
    assert len(found) > 8
    return found


def _zammad_form(text: str) -> str | None:
    """What Zammad's caller-ID normalization makes of a number ("49…", E.164 without "+"),
    when it is a number that exists, else None (then the answers are not comparable)."""
    digits = "49" + text[1:] if text.startswith("0") else text
    number = phonenumbers.parse("+" + digits)
    return digits if phonenumbers.is_valid_number(number) else None


def test_cloud_pbx_numbers_normalize_as_zammad_does() -> None:
    compared = 0
    for text in _cloud_numbers():
        number = parse_incoming(text, DE)
        if text == "anonymous":
            assert number.kind is NumberKind.WITHHELD
            continue
        expected = _zammad_form(text)
        if expected is None:
            continue
        assert number.e164 == "+" + expected, text
        if not text.startswith("0"):  # a driver that puts the "+" back gets the same
            assert parse_incoming("+" + text, DE).e164 == "+" + expected
        compared += 1
    assert compared >= 8


def test_one_party_in_sipgate_and_placetel_form_is_one_address(store: Store) -> None:
    factories.telephony(store, country="DE", area_code="30")
    numbers = _cloud_numbers()
    pairs = [
        (text, "0" + text[2:])
        for text in numbers
        if text.startswith("49") and "0" + text[2:] in numbers and _zammad_form(text)
    ]
    assert pairs  # e.g. 4930600000000 (sipgate) and 030600000000 (Placetel)
    for sipgate, placetel in pairs:
        address = factories.address(
            store, kind="company", company=f"Party {sipgate}", numbers=(("phone", placetel),)
        )
        for form in (sipgate, placetel, "+" + sipgate):
            assert [(m.match, m.address_id) for m in find(store, form)] == [
                ("exact", address.id)
            ], form


@pytest.mark.parametrize("text", ["040xxx", "123x", "040 xxx", "+31260xxxxxx", "044 123 xx xx"])
def test_numbers_with_hidden_digits_are_no_numbers(text: str) -> None:
    # Recordings and examples redact digits with "x"; the digits left are not a number (the
    # "040" of "040xxx" is no extension), and no one must be found by them.
    for plan in (DE, NL):
        number = parse_incoming(text, plan)
        assert number.kind is NumberKind.INVALID and number.error is not None
        assert "hidden" in number.error


def test_an_extension_after_an_x_is_still_an_extension() -> None:
    number = parse_incoming("0441234567x12", NumberingPlan.build(country="CH"))
    assert (number.e164, number.extension) == ("+41441234567", "12")
