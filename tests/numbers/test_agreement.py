"""Our compiled validity and formatting rules give the answers `phonenumbers` gives.

offhook reads validity rules and formats once per country instead of asking `phonenumbers`
on every call (see `offhook.numbers.countries`); these tests hold the two to each other for
every region's example numbers and for random variations of them.
"""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from offhook.numbers import NumberingPlan, NumberKind, parse
from offhook.numbers.countries import country_for_code, phone_number, valid_region
from offhook.numbers.format import international_format, national_format

_TYPES = [t for t in range(12) if t != PhoneNumberType.UNKNOWN]


def _examples() -> list[phonenumbers.PhoneNumber]:
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                numbers.append(number)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            numbers.append(number)
    return numbers


EXAMPLES = _examples()


def _expected_region(number: phonenumbers.PhoneNumber) -> str | None:
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.region_code_for_number(number)


def _check(number: phonenumbers.PhoneNumber) -> None:
    code = number.country_code
    assert code is not None
    nsn = phonenumbers.national_significant_number(number)
    ours = phone_number(code, nsn)
    assert phonenumbers.national_significant_number(ours) == nsn
    assert valid_region(code, nsn) == _expected_region(number), (code, nsn)
    country = country_for_code(code)
    assert country is not None
    assert national_format(country, nsn) == phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL
    )
    assert international_format(country, nsn) == phonenumbers.format_number(
        number, PhoneNumberFormat.INTERNATIONAL
    )


def test_there_are_examples_for_every_region() -> None:
    assert len({n.country_code for n in EXAMPLES}) > 200


def test_example_numbers_of_every_region_agree() -> None:
    disagreeing = []
    for number in EXAMPLES:
        try:
            _check(number)
        except AssertionError:
            disagreeing.append(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    assert disagreeing == []


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(EXAMPLES),
    st.integers(min_value=-2, max_value=2),
    st.text(alphabet="0123456789", max_size=3),
)
def test_variations_of_example_numbers_agree(
    example: phonenumbers.PhoneNumber, cut: int, tail: str
) -> None:
    nsn = phonenumbers.national_significant_number(example)
    nsn = (nsn[:cut] if cut < 0 else nsn) + tail
    if not 2 <= len(nsn) <= 17:
        return
    assert example.country_code is not None
    _check(phonenumbers.parse(f"+{example.country_code}{nsn}"))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(EXAMPLES), st.sampled_from(["", "0", "(0)", "1", "8", "06"]))
def test_international_reading_agrees_with_phonenumbers(
    example: phonenumbers.PhoneNumber, trunk: str
) -> None:
    # "+41 (0)44…": both strip a trunk prefix written after the country code alike.
    nsn = phonenumbers.national_significant_number(example)
    text = f"+{example.country_code} {trunk}{nsn}"
    ours = parse(text, NumberingPlan())
    try:
        theirs = phonenumbers.parse(text)
    except phonenumbers.NumberParseException:
        assert ours.kind is NumberKind.INVALID
        return
    if phonenumbers.is_valid_number(theirs):
        assert ours.e164 == phonenumbers.format_number(theirs, PhoneNumberFormat.E164)
        assert ours.region == phonenumbers.region_code_for_number(theirs)
    else:
        assert ours.kind is NumberKind.INVALID
