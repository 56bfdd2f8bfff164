"""How numbers are shown and dialled.

`display` follows the product's rule for the journal; `dial_string` does what TAPI's
`lineTranslateAddress` does for a stored number and a line. The national and international
forms are `phonenumbers`' NATIONAL and INTERNATIONAL formats, computed from rules compiled
once per country (`offhook.numbers.countries`) because `phonenumbers.format_number` compiles
and looks up its rules on every call; `tests/numbers/test_agreement.py` holds the two to each other.
"""

from __future__ import annotations

from offhook.numbers.countries import Country, Layout, country_for_code, split_country_code
from offhook.numbers.number import NumberKind, ParsedNumber
from offhook.numbers.plan import NumberingPlan


def national_format(country: Country, nsn: str, extension: str | None = None) -> str:
    """The number as written inside its own country: "044 123 45 67"."""
    text = _apply(country.national_layouts, nsn)
    return text + country.extension_prefix + extension if extension else text


def international_format(country: Country, nsn: str, extension: str | None = None) -> str:
    """The number as written abroad: "+41 44 123 45 67"."""
    text = f"+{country.code} {_apply(country.international_layouts, nsn)}"
    return text + country.extension_prefix + extension if extension else text


def _apply(layouts: tuple[Layout, ...], nsn: str) -> str:
    # The first layout whose leading digits and whole pattern fit, as in phonenumbers.
    for layout in layouts:
        text = layout.apply(nsn)
        if text is not None:
            return text
    return nsn


def display(parsed: ParsedNumber, plan: NumberingPlan, as_entered: str | None = None) -> str:
    """The number as the journal shows it.

    As entered in the CRM when the caller was found there (`as_entered`); otherwise in
    national form when it is a number of the home country, else in international form with
    "+" and the groups separated by spaces. Internal numbers show the extension; a withheld
    number shows nothing (the journal says "Number withheld"); text that is no number is
    shown as it came, without surrounding blanks.
    """
    if as_entered is not None and as_entered.strip():
        return as_entered.strip()
    if parsed.kind is NumberKind.WITHHELD:
        return ""
    if parsed.kind is NumberKind.INTERNAL:
        return parsed.extension or parsed.input.strip()
    if parsed.kind is NumberKind.EXTERNAL and parsed.e164:
        if _calling_code(parsed.e164) == plan.home.code and parsed.national:
            return parsed.national
        if parsed.international:
            # North American numbers are grouped with dashes ("+1 212-555-1234"); the
            # journal's rule is spaces.
            return parsed.international.replace("-", " ")
        return parsed.e164
    return parsed.input.strip()


def dial_string(parsed: ParsedNumber, plan: NumberingPlan) -> str | None:
    """The digits to dial on a line of this plan, or None if the number cannot be dialled.

    Like TAPI's lineTranslateAddress: the outside-line prefix, then the trunk prefix and the
    national significant number for a number of the home country ("0441234567"), or the home
    country's international prefix, the country code and the number for any other
    ("0049301234567"; "011…" from the US). Internal extensions are dialled as they are. An
    extension written after an external number is not dialled: phone systems differ in how
    they take digits after the call is connected.
    """
    if parsed.kind is NumberKind.INTERNAL:
        return parsed.extension or None
    if parsed.kind is not NumberKind.EXTERNAL or not parsed.e164:
        return None
    split = split_country_code(parsed.e164[1:])
    if split is None:  # pragma: no cover - e164 of an external number always has one
        return None
    code, nsn = split
    home = plan.home
    if code == home.code:
        return plan.outside_line + home.trunk_prefix + nsn
    return plan.outside_line + home.international_prefix + str(code) + nsn


def _calling_code(e164: str) -> int | None:
    split = split_country_code(e164[1:])
    return split[0] if split else None


def country_of(e164: str) -> tuple[Country, str] | None:
    """The country and national significant number of an E.164 string."""
    split = split_country_code(e164[1:]) if e164.startswith("+") else None
    if split is None:
        return None
    country = country_for_code(split[0])
    return (country, split[1]) if country else None
