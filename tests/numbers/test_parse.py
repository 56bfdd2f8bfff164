"""Real-world inputs, as people type them into a CRM and as phone systems deliver them."""

from __future__ import annotations

import time

import pytest

from offhook.numbers import NumberingPlan, NumberKind, dial_string, display, parse, parse_incoming

CH = NumberingPlan.build(country="CH", area_code="44")
CH_BARE = NumberingPlan.build(country="CH")
CH_PBX = NumberingPlan.build(
    country="CH", area_code="44", outside_line="0", incoming_with_outside_line=True
)
DE = NumberingPlan.build(country="DE", area_code="089")
DE_BARE = NumberingPlan.build(country="DE")
AT = NumberingPlan.build(country="AT", area_code="1")
FR = NumberingPlan.build(country="FR")
UK = NumberingPlan.build(country="UK", area_code="020")
US = NumberingPlan.build(
    country="US", area_code="212", outside_line="9", incoming_with_outside_line=True
)
IT = NumberingPlan.build(country="IT", area_code="06")

EXTERNAL = NumberKind.EXTERNAL
INTERNAL = NumberKind.INTERNAL
WITHHELD = NumberKind.WITHHELD
INVALID = NumberKind.INVALID

# plan, as typed into the CRM, E.164, display in the journal, dial string
TYPED = [
    # Switzerland: closed plan, 9-digit national numbers
    (CH, "+41 44 123 45 67", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "+41 (0)44 123 45 67", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "+41(0)441234567", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "0041 44 123 45 67", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "0041 (0)44 123 45 67", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "044/123.45.67", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "044-123-45-67", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "(044) 123 45 67", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "0441234567", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "+41\u00a044\u00a0123\u00a045\u00a067", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "+41 44 123\u202f45\u201367", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "＋４１ ４４ １２３ ４５ ６７", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "\u200e+41 44 123 45 67\u200f", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "Tel.: 044 123 45 67", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "044 123 45 67 (Zentrale)", "+41441234567", "044 123 45 67", "0441234567"),
    (CH, "079 123 45 67", "+41791234567", "079 123 45 67", "0791234567"),
    (CH, "0800 123 456", "+41800123456", "0800 123 456", "0800123456"),
    (CH, "123 45 67", "+41441234567", "044 123 45 67", "0441234567"),  # legacy, area code
    (CH, "79 123 45 67", "+41791234567", "079 123 45 67", "0791234567"),  # no trunk prefix
    (CH, "41 44 123 45 67", "+41441234567", "044 123 45 67", "0441234567"),  # "+" forgotten
    (CH, "+49 30 1234567", "+49301234567", "+49 30 1234567", "0049301234567"),
    (CH, "+1 212 555 1234", "+12125551234", "+1 212 555 1234", "0012125551234"),
    (CH, "+39 06 1234 5678", "+390612345678", "+39 06 1234 5678", "00390612345678"),
    (CH, "+423 234 56 78", "+4232345678", "+423 234 56 78", "004232345678"),
    (CH_PBX, "044 123 45 67", "+41441234567", "044 123 45 67", "00441234567"),
    (CH_PBX, "+49 30 1234567", "+49301234567", "+49 30 1234567", "00049301234567"),
    # Germany: open plan, local numbers get the area code
    (DE, "089 1234567", "+49891234567", "089 1234567", "0891234567"),
    (DE, "1234567", "+49891234567", "089 1234567", "0891234567"),
    (DE, "123 45 67", "+49891234567", "089 1234567", "0891234567"),
    (DE, "4921 123456", "+494921123456", "04921 123456", "04921123456"),  # no trunk prefix
    (DE, "+49 (0)89 1234567", "+49891234567", "089 1234567", "0891234567"),
    (DE, "0049 89 1234567", "+49891234567", "089 1234567", "0891234567"),
    (DE, "(0 89) 12 34 56-78", "+498912345678", "089 12345678", "08912345678"),
    (DE, "089/1234-567", "+49891234567", "089 1234567", "0891234567"),
    (DE, "030 1234567", "+49301234567", "030 1234567", "0301234567"),
    (DE, "0171 1234567", "+491711234567", "0171 1234567", "01711234567"),
    (DE, "0800 FLOWERS", "+498003569377", "0800 3569377", "08003569377"),
    (DE, "+41 44 123 45 67", "+41441234567", "+41 44 123 45 67", "0041441234567"),
    # Austria: open plan
    (AT, "01 234 56 78", "+4312345678", "01 2345678", "012345678"),
    (AT, "234 56 78", "+4312345678", "01 2345678", "012345678"),
    (AT, "+43 (0)1 234 56 78", "+4312345678", "01 2345678", "012345678"),
    (AT, "0664 1234567", "+436641234567", "0664 1234567", "06641234567"),
    (AT, "0043 664 123 45 67", "+436641234567", "0664 1234567", "06641234567"),
    # France: closed plan, no area code configured
    (FR, "01 23 45 67 89", "+33123456789", "01 23 45 67 89", "0123456789"),
    (FR, "01.23.45.67.89", "+33123456789", "01 23 45 67 89", "0123456789"),
    (FR, "+33 (0)6 12 34 56 78", "+33612345678", "06 12 34 56 78", "0612345678"),
    (FR, "0033 6 12 34 56 78", "+33612345678", "06 12 34 56 78", "0612345678"),
    (FR, "+41 44 123 45 67", "+41441234567", "+41 44 123 45 67", "0041441234567"),
    # United Kingdom
    (UK, "020 7946 0958", "+442079460958", "020 7946 0958", "02079460958"),
    (UK, "+44 (0)20 7946 0958", "+442079460958", "020 7946 0958", "02079460958"),
    (UK, "7946 0958", "+442079460958", "020 7946 0958", "02079460958"),
    (UK, "0161 496 0000", "+441614960000", "0161 496 0000", "01614960000"),
    (UK, "07911 123456", "+447911123456", "07911 123456", "07911123456"),
    # United States: trunk prefix 1, international prefix 011, outside line 9
    (US, "(212) 555-1234", "+12125551234", "(212) 555-1234", "912125551234"),
    (US, "212.555.1234", "+12125551234", "(212) 555-1234", "912125551234"),
    (US, "1-212-555-1234", "+12125551234", "(212) 555-1234", "912125551234"),
    (US, "+1 (212) 555-1234", "+12125551234", "(212) 555-1234", "912125551234"),
    (US, "555-1234", "+12125551234", "(212) 555-1234", "912125551234"),
    (US, "1-800-FLOWERS", "+18003569377", "(800) 356-9377", "918003569377"),
    (US, "011 41 44 123 45 67", "+41441234567", "+41 44 123 45 67", "901141441234567"),
    (US, "0041 44 123 45 67", "+41441234567", "+41 44 123 45 67", "901141441234567"),
    (US, "+1 416 555 0123", "+14165550123", "(416) 555-0123", "914165550123"),  # Canada
    # Italy: the leading zero of fixed-line numbers is part of the number
    (IT, "06 1234 5678", "+390612345678", "06 1234 5678", "0612345678"),
    (IT, "+39 06 1234 5678", "+390612345678", "06 1234 5678", "0612345678"),
    (IT, "0039 06 12345678", "+390612345678", "06 1234 5678", "0612345678"),
    (IT, "02 1234 5678", "+390212345678", "02 1234 5678", "0212345678"),
    (IT, "12345678", "+390612345678", "06 1234 5678", "0612345678"),
    (IT, "347 123 4567", "+393471234567", "347 123 4567", "3471234567"),
    (IT, "+41 44 123 45 67", "+41441234567", "+41 44 123 45 67", "0041441234567"),
    (CH, "+39 347 123 4567", "+393471234567", "+39 347 123 4567", "00393471234567"),
]


@pytest.mark.parametrize(("plan", "text", "e164", "shown", "dial"), TYPED)
def test_typed_numbers(plan: NumberingPlan, text: str, e164: str, shown: str, dial: str) -> None:
    number = parse(text, plan)
    assert (number.kind, number.e164, number.error) == (EXTERNAL, e164, None)
    assert number.input == text
    assert display(number, plan) == shown
    assert dial_string(number, plan) == dial


# plan, as a phone system delivers it, E.164
INCOMING = [
    (CH, "0441234567", "+41441234567"),
    (CH, "+41441234567", "+41441234567"),
    (CH, "0041441234567", "+41441234567"),
    (CH, "441234567", "+41441234567"),  # without trunk prefix, as some PBXs deliver
    (CH, "791234567", "+41791234567"),
    (CH, "0049301234567", "+49301234567"),
    (CH, "sip:+41441234567@sip.example.com;user=phone", "+41441234567"),
    (CH, "sips:+41441234567@sip.example.com", "+41441234567"),
    (CH, "<sip:+41441234567@sip.example.com>", "+41441234567"),
    (CH, '"Anna Müller" <sip:+41441234567@pbx.example.com;user=phone>;tag=a1', "+41441234567"),
    (CH, "Anna Müller <sip:0441234567@10.0.0.1:5060>", "+41441234567"),
    (CH, "sip:0041441234567@pbx", "+41441234567"),
    (CH, "sip:%2B41441234567@pbx", "+41441234567"),
    (CH, "sip:+41441234567:secret@pbx", "+41441234567"),
    (CH, "tel:+41-44-123-45-67", "+41441234567"),
    (CH, "tel:+41441234567;ext=12", "+41441234567"),
    (CH, "tel:1234567;phone-context=+4144", "+41441234567"),
    (CH, "4930123456", "+4930123456"),  # international, the PBX dropped the prefix
    # the PBX prepends the outside line "0": strip it once
    (CH_PBX, "00441234567", "+41441234567"),
    (CH_PBX, "0004930123456", "+4930123456"),
    (CH_PBX, "0441234567", "+41441234567"),  # not every trunk prepends it
    (CH_PBX, "0+41441234567", "+41441234567"),
    (CH_PBX, "+41441234567", "+41441234567"),
    # cloud phone systems (sipgate, Zammad's CTI API): E.164 without "+"
    (DE, "492111234567", "+492111234567"),
    (DE, "4915791234567", "+4915791234567"),
    (DE_BARE, "493023125741", "+493023125741"),
    (CH, "41441234567", "+41441234567"),
    (CH, "492111234567", "+492111234567"),
    (DE, "0891234567", "+49891234567"),
    (DE, "891234567", "+49891234567"),
    (DE, "1234567", "+49891234567"),  # a local number of the home area
    (US, "912125551234", "+12125551234"),
    (US, "2125551234", "+12125551234"),
    (US, "12125551234", "+12125551234"),
    (US, "9011441614960000", "+441614960000"),
    (IT, "0612345678", "+390612345678"),
    (IT, "390612345678", "+390612345678"),
]


@pytest.mark.parametrize(("plan", "text", "e164"), INCOMING)
def test_incoming_numbers(plan: NumberingPlan, text: str, e164: str) -> None:
    number = parse_incoming(text, plan)
    assert (number.kind, number.e164, number.error) == (EXTERNAL, e164, None)


def test_outside_line_is_stripped_exactly_once() -> None:
    # "000441234567" with outside line 0 is "00441234567" after one strip: +44 1234567,
    # which is no valid UK number. A second strip would make it Swiss; we never do that.
    number = parse_incoming("000441234567", CH_PBX)
    assert number.kind is INVALID
    assert number.error is not None and "UK" in number.error
    # and without the setting, nothing is stripped: "00441234567" is that UK number
    assert parse_incoming("00441234567", CH).kind is INVALID
    assert parse_incoming("00441614960000", CH).e164 == "+441614960000"


def test_typed_numbers_are_never_stripped_of_the_outside_line() -> None:
    assert parse("00441614960000", CH_PBX).e164 == "+441614960000"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "anonymous",
        "Anonymous",
        "ANONYMOUS",
        "unknown",
        "<unknown>",
        "restricted",
        "Restricted",
        "private",
        "Private Number",
        "unavailable",
        "withheld",
        "CLIR",
        "unbekannt",
        "sip:anonymous@anonymous.invalid",
        "Anonymous <sip:anonymous@anonymous.invalid>;tag=x",
        '"Anonymous" <sip:anonymous@anonymous.invalid>',
        "sip:anonymous@pbx.example.com",
        "<sip:unknown@10.0.0.1>",
        "sips:anonymous@anonymous.invalid",
        "tel:anonymous",
        "P",
        "O",
    ],
)
def test_withheld(text: str) -> None:
    number = parse_incoming(text, CH)
    assert number.kind is WITHHELD
    assert (number.e164, number.error) == (None, None)
    assert display(number, CH) == ""
    assert dial_string(number, CH) is None


def test_bellcore_letters_are_withheld_only_from_a_phone_system() -> None:
    assert parse("P", CH).kind is INVALID


@pytest.mark.parametrize(
    ("plan", "text", "extension"),
    [
        (CH, "123", "123"),
        (CH, "1234", "1234"),
        (CH, "12", "12"),
        (CH, "sip:123@pbx.example.com", "123"),
        (CH, '"Reception" <sip:200@10.0.0.1>', "200"),
        (CH, "tel:7042;phone-context=example.com", "7042"),
        (CH, "١٢٣", "123"),  # Arabic-Indic digits
        (NumberingPlan.build(internal_max_length=3), "123", "123"),
    ],
)
def test_internal(plan: NumberingPlan, text: str, extension: str) -> None:
    for reading in (parse, parse_incoming):
        number = reading(text, plan)
        assert (number.kind, number.extension, number.e164) == (INTERNAL, extension, None)
        assert display(number, plan) == extension
        assert dial_string(number, plan) == extension


def test_internal_max_length_is_respected() -> None:
    plan = NumberingPlan.build(internal_max_length=3)
    assert parse("1234", plan).kind is INVALID
    assert parse("12345", CH).kind is INVALID  # 5 digits: neither extension nor number
    assert parse("123", NumberingPlan.build(internal_max_length=0)).kind is INVALID


@pytest.mark.parametrize(
    ("plan", "text", "error"),
    [
        (CH, "abc", "not a phone number: it contains no digits"),
        (CH, "n/a", "not a phone number: it contains no digits"),
        (CH, "see e-mail", "not a phone number: it contains no digits"),
        (CH, "+41 44 123 45", "too short for a Swiss number"),
        (CH, "+41 44 123 45 67 8", "wrong number of digits for a Swiss number"),
        (CH, "+41 44 123 45 67 890 1", "too long for a Swiss number"),
        (CH, "+41 12 345 67 89", "not a valid Swiss number: no such area code or number range"),
        (CH_BARE, "123 45 67", "too short for a Swiss number: add the area code"),
        (
            DE_BARE,
            "12 34 56",
            "a local number without area code: add the area code, or set "
            "the home area code in Settings > Telephony",
        ),
        (CH, "+999 123 45 67", "no country has the calling code +999"),
        (CH, "+", "nothing follows the international prefix"),
        (CH, "044 123 45 67 / 079 123 45 67", "more than one number: keep one number per field"),
        (CH, "044 123 45 67, 079 123 45 67", "more than one number: keep one number per field"),
        (CH, "044 123 @ 45 67", "contains '@', which is not part of a phone number"),
        (CH, "044 12a 45 67", "contains letters that are not part of a phone number"),
        (CH, "+41 +44 123 45 67", "contains more than one +"),
        (CH, "0800 FLOWERS", "wrong number of digits for a Swiss number"),
        (CH, "sip:alice@example.com", "a SIP address without a phone number"),
        (CH, "1" * 500, "too long to be a phone number"),
        (CH, "x" * 10_000_000, "too long to be a phone number"),
    ],
)
def test_invalid(plan: NumberingPlan, text: str, error: str) -> None:
    number = parse(text, plan)
    assert (number.kind, number.error, number.e164) == (INVALID, error, None)
    assert number.input == text
    assert display(number, plan) == text.strip()
    assert dial_string(number, plan) is None


def test_absurd_inputs_are_rejected_fast() -> None:
    started = time.perf_counter()
    for text in ("9" * 10_000_000, "+" + "4" * 500, "(" * 100_000, "\u00a0" * 200):
        assert parse(text, CH).kind in (INVALID, WITHHELD)
        assert parse_incoming(text, CH).kind in (INVALID, WITHHELD)
    assert time.perf_counter() - started < 0.5


def test_no_text_makes_parsing_slow() -> None:
    # Runs of one character with a tail are what makes regular expressions backtrack.
    units = [
        "1",
        " ",
        "\t",
        "(",
        ")",
        "-",
        ",",
        ";",
        "x",
        "a",
        "1 ",
        " x",
        "(a",
        "<",
        "@",
        ":",
        "ext ",
        " ,",
        "p",
        "1-",
        ". ",
        "(1",
        "a(",
        "<sip:",
        "1p",
        "\u00a0",
        "ä",
        "0",
    ]
    tails = ["", "x", "1", "a", ")", "ext", "x1", "-1", ">", "("]
    slowest = 0.0
    for head in ("", "1", "+41", "sip:", "(", "tel:1"):
        for unit in units:
            for tail in tails:
                text = (head + unit * 300)[: 299 - len(tail)] + tail
                started = time.perf_counter()
                parse(text, CH)
                parse_incoming(text, CH)
                slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 0.05  # about 1 ms on a developer machine


@pytest.mark.parametrize(
    ("text", "extension"),
    [
        ("044 123 45 67 ext. 12", "12"),
        ("044 123 45 67 ext 12", "12"),
        ("044 123 45 67 x12", "12"),
        ("0441234567x12", "12"),
        ("044 123 45 67 #12", "12"),
        ("+41 44 123 45 67;ext=12", "12"),
        ("044 123 45 67 Durchwahl 12", "12"),
        ("+41 44 123 45 67,,12", "12"),
        ("044 123 45 67-12", "12"),  # complete number, then a dash: an extension
        ("tel:+41441234567;ext=12", "12"),
    ],
)
def test_extensions(text: str, extension: str) -> None:
    number = parse(text, CH)
    assert (number.kind, number.e164, number.extension) == (EXTERNAL, "+41441234567", extension)
    assert number.national == f"044 123 45 67 ext. {extension}"
    assert dial_string(number, CH) == "0441234567"


def test_digits_after_a_dash_belong_to_the_number_where_lengths_vary() -> None:
    # In Germany "1234-567" is a direct-dial number of the block 1234, not an extension.
    number = parse("+49 89 1234-567", DE)
    assert (number.e164, number.extension) == ("+49891234567", None)


def test_to_json() -> None:
    assert parse("044 123 45 67", CH).to_json() == {
        "input": "044 123 45 67",
        "kind": "external",
        "e164": "+41441234567",
        "national": "044 123 45 67",
        "international": "+41 44 123 45 67",
        "extension": None,
        "region": "CH",
        "error": None,
        "problem": None,
    }
    invalid = parse("044 123 45", CH).to_json()
    assert invalid["kind"] == "invalid"
    assert invalid["error"] == "too short for a Swiss number"
    assert invalid["problem"] == {"code": "too_short", "params": {"country": "CH"}}


def test_region_of_numbers_that_share_a_calling_code() -> None:
    assert parse("+1 416 555 0123", CH).region == "CA"
    assert parse("+1 212 555 1234", CH).region == "US"
    assert parse("+44 1624 756789", CH).region == "IM"


def test_not_a_string_does_not_raise() -> None:
    assert parse(None, CH).kind is WITHHELD  # type: ignore[arg-type]
    assert parse_incoming(41441234567, CH).e164 == "+41441234567"  # type: ignore[arg-type]
