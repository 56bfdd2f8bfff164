"""Switchboard numbers and the number blocks they head."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from offhook.numbers import (
    NumberingPlan,
    block_prefixes,
    parse,
    parse_incoming,
    switchboard_prefix,
)
from offhook.numbers.countries import phone_number

CH = NumberingPlan.build(country="CH", area_code="44")
DE = NumberingPlan.build(country="DE", area_code="711")
AT = NumberingPlan.build(country="AT", area_code="1")


@pytest.mark.parametrize(
    ("plan", "text", "prefix"),
    [
        (CH, "+41 44 123 45 00", "+414412345"),
        (CH, "+41 44 123 45-0", "+414412345"),  # DIN style; no dialable number itself
        (CH, "+41 44 123 45 0", "+414412345"),
        (CH, "044 123 45 00", "+414412345"),
        (CH, "044 123 45-0", "+414412345"),
        (CH, "0041 44 123 45 00", "+414412345"),
        (CH, "+41 44 123 4-00", "+41441234"),
        (CH, "+41 44 123 45\u201300", "+414412345"),
        (DE, "0711 12345-0", "+4971112345"),
        (DE, "12345-0", "+4971112345"),  # local number, area code from the plan
        (DE, "+49 711 12345 - 0", "+4971112345"),
        (AT, "+43 1 4000-0", "+4314000"),
    ],
)
def test_switchboard_numbers(plan: NumberingPlan, text: str, prefix: str) -> None:
    parsed = parse(text, plan)
    assert switchboard_prefix(parsed, text) == prefix


@pytest.mark.parametrize(
    ("plan", "text"),
    [
        (CH, "+41441234500"),  # no grouping: says nothing about the block
        (CH, "+41 44 123 45 67"),
        (CH, "+41 44 123 45 10"),
        (CH, "+41 44 123 40 00 0"),
        (CH, "+41 79 123 45 00"),  # mobile numbers head no blocks
        (CH, "044 123 45 00 ext. 12"),
        (CH, "123"),
        (CH, "anonymous"),
        (CH, "+41 44 12-0"),  # the block would be most of Zurich
        (DE, "+49 89 12-0"),
        (CH, "sip:+41441234500@pbx"),
    ],
)
def test_not_switchboard_numbers(plan: NumberingPlan, text: str) -> None:
    assert switchboard_prefix(parse(text, plan), text) is None


def test_switchboard_prefix_from_the_normalized_number_and_the_text_as_entered() -> None:
    stored = "+41 44 123 45 00"
    normalized = parse("+41441234500", CH)
    assert switchboard_prefix(normalized, stored) == "+414412345"
    assert switchboard_prefix(parse("+41791234500", CH), "+41 79 123 45 00") is None


def test_block_prefixes_longest_first() -> None:
    assert block_prefixes("+41441234567") == [
        "+4144123456",
        "+414412345",
        "+41441234",
        "+4144123",
    ]


def test_block_prefixes_keep_area_code_and_three_digits() -> None:
    # Stuttgart has a three-digit area code: at least 711 and three more digits stay.
    assert block_prefixes("+4971112345678")[-1] == "+49711123"
    assert all(len(p) >= len("+49711123") for p in block_prefixes("+4971112345678"))


@pytest.mark.parametrize(
    ("plan", "switchboard", "caller"),
    [
        (CH, "+41 44 123 45 00", "+41 44 123 45 67"),
        (CH, "+41 44 123 45-0", "044 123 45 99"),
        (DE, "0711 12345-0", "+49 711 12345 678"),
        (DE, "0711 12345-0", "0711 12345 6"),
        (AT, "+43 1 4000-0", "+43 1 4000 81234"),
    ],
)
def test_a_direct_dial_number_finds_its_switchboard(
    plan: NumberingPlan, switchboard: str, caller: str
) -> None:
    prefix = switchboard_prefix(parse(switchboard, plan), switchboard)
    e164 = parse_incoming(caller, plan).e164
    assert prefix is not None and e164 is not None
    assert prefix in block_prefixes(e164)


def test_block_prefixes_of_numbers_in_no_block() -> None:
    assert block_prefixes("+41791234567") == []  # mobile
    assert block_prefixes("") == []
    assert block_prefixes("041441234567") == []
    assert block_prefixes("+999123456") == []
    assert block_prefixes("+41") == []
    assert block_prefixes("+4144") == []


@settings(max_examples=400, deadline=None)
@given(
    code=st.sampled_from([1, 7, 33, 39, 41, 43, 44, 49, 52, 54, 61, 81, 86, 91, 358, 420, 972]),
    nsn=st.text(alphabet="0123456789", min_size=4, max_size=12).filter(lambda s: s[0] != "0"),
)
def test_block_prefixes_follow_phonenumbers_rules(code: int, nsn: str) -> None:
    # block_prefixes spares phonenumbers' repeated type checks; it must still give exactly
    # what the rule says in phonenumbers' own terms: no block for mobiles, the floor after the
    # national destination code for valid numbers, else the general floor.
    number = phone_number(code, nsn)
    if phonenumbers.number_type(number) == PhoneNumberType.MOBILE:
        assert block_prefixes(f"+{code}{nsn}") == []
        return
    if phonenumbers.is_valid_number(number):
        floor = phonenumbers.length_of_national_destination_code(number) + 3
    else:
        floor = 0
    floor = max(floor, 5)
    expected = [f"+{code}{nsn[:-n]}" for n in range(1, 6) if len(nsn) - n >= floor]
    assert block_prefixes(f"+{code}{nsn}") == expected
