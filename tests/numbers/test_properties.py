"""Properties that hold for every number, however it is written."""

from __future__ import annotations

import phonenumbers
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from offhook.numbers import (
    NumberingPlan,
    NumberKind,
    block_prefixes,
    dial_string,
    display,
    parse,
    parse_incoming,
    switchboard_prefix,
)

COUNTRIES = ["CH", "DE", "AT", "FR", "GB", "US", "IT", "NL", "ES", "LI", "CA", "AU", "BR", "JP"]
HOMES = ["CH", "DE", "AT", "FR", "GB", "US", "IT"]
SEPARATORS = [" ", " ", "-", ".", "/", "", "\u00a0", "\u2009", "\u202f", "\u2013", "\u2011"]
FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")


@st.composite
def valid_numbers(draw: st.DrawFn, regions: list[str] = COUNTRIES) -> phonenumbers.PhoneNumber:
    """A valid number: an example number of some type, with its last digits changed."""
    region = draw(st.sampled_from(regions))
    kind = draw(
        st.sampled_from(
            [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE]
        )
    )
    example = phonenumbers.example_number_for_type(region, kind)
    assume(example is not None)
    assert example is not None
    nsn = phonenumbers.national_significant_number(example)
    tail = draw(st.text(alphabet="0123456789", min_size=2, max_size=2))
    number = phonenumbers.parse(f"+{example.country_code}{nsn[:-2]}{tail}")
    assume(phonenumbers.is_valid_number(number))
    return number


def _grouped(draw: st.DrawFn, digits: str) -> str:
    """The digits in groups of one to four, joined by one kind of separator."""
    separator = draw(st.sampled_from(SEPARATORS))
    groups, rest = [], digits
    while rest:
        size = draw(st.integers(min_value=1, max_value=4))
        groups.append(rest[:size])
        rest = rest[size:]
    if len(groups) > 1 and draw(st.booleans()):
        groups[0] = f"({groups[0]})"
    return separator.join(groups)


@st.composite
def writings(draw: st.DrawFn, number: phonenumbers.PhoneNumber, plan: NumberingPlan) -> str:
    """One way people or phone systems write `number`."""
    code = number.country_code
    nsn = phonenumbers.national_significant_number(number)
    trunk = plan.home.trunk_prefix
    forms = [f"+{code} ", f"+{code}", f"{plan.home.international_prefix}{code} ", "00" + str(code)]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(
        phonenumbers.region_code_for_number(number) or ""
    )
    if metadata is not None and metadata.national_prefix == "0":
        forms += [f"+{code} (0)", f"+{code}(0) "]
    if code == plan.home.code:
        forms.append(trunk)
    prefix = draw(st.sampled_from(forms))
    text = prefix + _grouped(draw, nsn)
    style = draw(st.sampled_from(["plain", "tel", "sip", "sip-name", "sips", "full-width"]))
    digits = "".join(c for c in text if c.isdigit() or c == "+")
    if style == "tel":
        text = f"tel:{digits}" + draw(st.sampled_from(["", ";isub=1", ";ext=12"]))
    elif style == "sip":
        params = draw(st.sampled_from(["", ";user=phone", ";user=phone;transport=tcp"]))
        text = f"sip:{digits}@pbx.example.com{params}"
    elif style == "sip-name":
        name = draw(st.sampled_from(['"Anna Müller"', "Anna", '"Muster AG, Zürich"', ""]))
        text = f"{name} <sip:{digits}@10.0.0.1:5060;user=phone>;tag=9fx"
    elif style == "sips":
        text = f"<sips:{digits}@sip.example.com>"
    elif style == "full-width":
        text = text.translate(FULL_WIDTH)
    return text


plans = st.builds(
    NumberingPlan.build,
    country=st.sampled_from(HOMES),
    outside_line=st.sampled_from(["", "0", "9"]),
    internal_max_length=st.integers(min_value=0, max_value=5),
)


@settings(max_examples=600, deadline=None)
@given(st.data(), valid_numbers(), plans)
def test_every_writing_of_a_number_gives_the_same_e164(
    data: st.DataObject, number: phonenumbers.PhoneNumber, plan: NumberingPlan
) -> None:
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    text = data.draw(writings(number, plan))
    assert parse(text, plan).e164 == e164, text
    assert parse_incoming(text, plan).e164 == e164, text


@settings(max_examples=300, deadline=None)
@given(valid_numbers(), plans)
def test_what_is_displayed_reads_back_as_the_same_number(
    number: phonenumbers.PhoneNumber, plan: NumberingPlan
) -> None:
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    parsed = parse(e164, plan)
    assert parse(display(parsed, plan), plan).e164 == e164


@settings(max_examples=400, deadline=None)
@given(valid_numbers(), plans, st.sampled_from(["", "0", "9", "00", "81"]))
def test_a_dial_string_comes_back_as_the_same_number(
    number: phonenumbers.PhoneNumber, plan: NumberingPlan, outside_line: str
) -> None:
    # What we dial comes back as the number the phone system reports for the call: with the
    # outside-line prefix in front, which is what `incoming_with_outside_line` is for.
    plan = NumberingPlan.build(
        country=plan.country,
        outside_line=outside_line,
        incoming_with_outside_line=bool(outside_line),
        internal_max_length=plan.internal_max_length,
    )
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    parsed = parse(e164, plan)
    dialled = dial_string(parsed, plan)
    assert dialled is not None and dialled.isdigit()
    assert parse_incoming(dialled, plan).e164 == e164, dialled


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=7), plans)
def test_extensions_dial_as_they_are(digits: str, plan: NumberingPlan) -> None:
    parsed = parse(digits, plan)
    if len(digits) <= plan.internal_max_length:
        assert parsed.kind is NumberKind.INTERNAL
        assert dial_string(parsed, plan) == digits
        assert parse_incoming(digits, plan).extension == digits


PHONEISH = st.lists(
    st.sampled_from(
        [
            *"0123456789+()-./ #*,;:=@<>\"'xX\u00a0\u2013０１＋",
            "sip:",
            "tel:",
            "sips:",
            "ext",
            "anonymous",
            ";ext=",
            ";phone-context=",
            "(0)",
            "00",
            "FLOWERS",
            "\u0663",
            "@anonymous.invalid",
            "user=phone",
        ]
    ),
    max_size=30,
).map("".join)


def _use_everything(text: str, plan: NumberingPlan) -> None:
    for parsed in (parse(text, plan), parse_incoming(text, plan)):
        assert parsed.input == text
        assert isinstance(display(parsed, plan), str)
        assert isinstance(display(parsed, plan, as_entered=text), str)
        dial_string(parsed, plan)
        switchboard_prefix(parsed, text)
        parsed.to_json()
        if parsed.kind is NumberKind.EXTERNAL:
            assert parsed.e164 and parsed.national and parsed.international and parsed.region
            assert parsed.error is None
            block_prefixes(parsed.e164)
        elif parsed.kind is NumberKind.INVALID:
            assert parsed.error and parsed.e164 is None
        else:
            assert parsed.e164 is None and parsed.error is None


@settings(max_examples=1000, deadline=None)
@given(st.text(), plans)
def test_nothing_raises_on_any_text(text: str, plan: NumberingPlan) -> None:
    _use_everything(text, plan)


@settings(max_examples=1000, deadline=None)
@given(PHONEISH, plans)
def test_nothing_raises_on_text_that_looks_like_numbers(text: str, plan: NumberingPlan) -> None:
    _use_everything(text, plan)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_block_prefixes_never_raise(text: str) -> None:
    assert isinstance(block_prefixes(text), list)
    assert isinstance(block_prefixes("+" + text), list)
