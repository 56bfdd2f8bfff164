"""Reading numbers: as typed into the CRM (`parse`) and as phone systems deliver them
(`parse_incoming`).

After `offhook.numbers.clean` has reduced the text to digits, the digits are read in this order:

1. "+…" is international.
2. At most `plan.internal_max_length` digits: an internal extension.
3. Incoming only, when the plan says the phone system prepends the outside-line prefix: that
   prefix is stripped, exactly once. With outside line "0", "00441234567" is the national
   "0441234567", and "000441234567" is "00441234567": international, +44 1234567 (no valid
   UK number), never a second strip. When the stripped digits are no valid number but the
   digits as delivered are, those are taken: not every trunk of a phone system prepends.
4. The home country's international prefix ("00"; "011" in the US), and "00" everywhere:
   international. A country code never starts with 0, so "000…" is not.
5. The home country's trunk prefix ("0"; "1" in the US): national.
6. Anything else has no prefix at all, and is one of
   - a local number without area code: the plan's area code is put in front. In open
     numbering plans (Germany, Austria, the US: `phonenumbers` knows local-only lengths
     there) typed numbers are read this way first, because that is how people write the
     numbers of their own town.
   - a national number without trunk prefix ("441234567" for 044 123 45 67), as some phone
     systems deliver them; incoming numbers, and typed numbers in closed plans, are read
     this way first. Countries without a trunk prefix (Italy, Spain, Denmark…) write every
     national number like this. In a closed plan (Switzerland, France, Italy…) a number that
     is not valid as it stands is completed with the plan's area code when one is set: old
     entries from before the plan was closed ("123 45 67" in Zurich).
   - as a last resort: an international number written without its prefix ("4930123456").
   The first reading that gives a valid number wins. One exception comes before all three:
   eleven digits or more that start with the home country's code and are valid read that way
   are taken as an international number without "+", which is how cloud phone systems
   (sipgate, Zammad's CTI API) send every caller. Foreign numbers in that form stay
   ambiguous in open plans, where German or Austrian numbers of any length are valid: a
   driver that knows its phone system sends E.164 without "+" should put the "+" back.

A number is external only if `phonenumbers` calls it valid: a typo should show up in the
"could not be normalized" report, not sit in the database as a number nobody can call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult

from offhook.numbers.blocks import block_head
from offhook.numbers.clean import MAX_INPUT_LENGTH, NOT_A_NUMBER, clean
from offhook.numbers.countries import (
    Country,
    country_for_code,
    phone_number,
    split_country_code,
    valid_region,
)
from offhook.numbers.format import international_format, national_format
from offhook.numbers.number import NumberKind, ParsedNumber
from offhook.numbers.plan import NumberingPlan
from offhook.numbers.problems import TEMPLATES, Problem

_MIN_NSN = 2  # as phonenumbers
_MAX_NSN = 17
_MIN_DIGITS_WITHOUT_PREFIX = 8  # for an international number written without its prefix
_MIN_DIGITS_WITH_HOME_CODE = 11  # ditto, starting with the home country's code
_MAX_LOCAL_DIGITS = 8  # subscriber numbers (without area code) are at most this long

LOCAL_WITHOUT_AREA_CODE = TEMPLATES["local_without_area_code"]
TWO_NUMBERS = TEMPLATES["two_numbers"]
MISPLACED_PLUS = TEMPLATES["misplaced_plus"]
NOTHING_AFTER_PREFIX = TEMPLATES["nothing_after_prefix"]

_DASH_EXTENSION = re.compile(r"(?s)^(?P<head>.*\d)\s*[-\u2010-\u2015\u2212]\s*(?P<ext>\d{1,5})\s*$")
_NUMBER_LIST = re.compile(r"[,;|\n]|\s/\s|\s(?:or|oder|ou|o|od\.)\s", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Reading:
    """One way of reading the digits."""

    country: Country | None = None
    nsn: str = ""  # national significant number
    region: str | None = None
    valid: bool = False
    error: str | None = None
    reason: int | None = None  # phonenumbers' ValidationResult when the length is wrong
    internal: str | None = None  # the extension, for an internal number


def parse(text: str, plan: NumberingPlan) -> ParsedNumber:
    """A number as typed into the CRM. Never raises."""
    return _parse(text, plan, incoming=False)


def parse_incoming(text: str, plan: NumberingPlan) -> ParsedNumber:
    """A number as a phone system delivers it (caller ID, SIP URI, dialled number).

    Differs from `parse` in stripping the outside-line prefix where the plan says the phone
    system prepends it, in preferring a national number without trunk prefix to a local one,
    and in reading "P" and "O" as withheld. Never raises.
    """
    return _parse(text, plan, incoming=True)


def _parse(text: str, plan: NumberingPlan, *, incoming: bool) -> ParsedNumber:
    if not isinstance(text, str):  # callers are typed, data is not
        text = "" if text is None else str(text)
    cleaned = clean(text, incoming=incoming)
    if cleaned.withheld:
        return ParsedNumber(text, NumberKind.WITHHELD)
    if cleaned.error is not None:
        error = TWO_NUMBERS if _lists_numbers(text) else cleaned.error
        return ParsedNumber(text, NumberKind.INVALID, error=error)

    extension = cleaned.extension
    reading = _read(cleaned.number, plan, incoming)
    if not reading.valid and reading.internal is None:
        if cleaned.fallback:
            other = _read(cleaned.fallback, plan, incoming)
            if other.valid:
                reading = other
        if not reading.valid and extension is None:
            reading, extension = _with_dash_extension(text, plan, incoming, reading)

    if reading.internal is not None:
        return ParsedNumber(text, NumberKind.INTERNAL, extension=reading.internal)
    country, nsn = reading.country, reading.nsn
    block = None
    if country is not None and nsn and extension is None:
        block = block_head(text, country, nsn, valid=reading.valid)
    if not reading.valid or country is None:
        error = TWO_NUMBERS if _lists_numbers(text) else reading.error or NOT_A_NUMBER
        return ParsedNumber(text, NumberKind.INVALID, error=error, block=block)
    return ParsedNumber(
        text,
        NumberKind.EXTERNAL,
        e164=f"+{country.code}{nsn}",
        national=national_format(country, nsn, extension),
        international=international_format(country, nsn, extension),
        extension=extension,
        region=reading.region,
        block=block,
    )


def _read(number: str, plan: NumberingPlan, incoming: bool) -> _Reading:
    if "+" in number[1:]:
        # "0+41…": a phone system that put its outside line before an international number.
        prefix, _, rest = number.partition("+")
        if not (incoming and plan.incoming_with_outside_line and prefix == plan.outside_line):
            return _Reading(error=MISPLACED_PLUS)
        number = "+" + rest
    if number[:1] == "+":
        return _international(number[1:])
    if len(number) <= plan.internal_max_length:
        return _Reading(internal=number)
    outside = plan.outside_line
    if incoming and plan.incoming_with_outside_line and outside and number.startswith(outside):
        stripped = _read_digits(number[len(outside) :], plan, incoming)
        if stripped.valid:
            return stripped
        # Some trunks of a phone system prepend the prefix and some do not: a number that
        # only makes sense as it came is taken as it came. Never stripped twice.
        unstripped = _read_digits(number, plan, incoming)
        return unstripped if unstripped.valid else stripped
    return _read_digits(number, plan, incoming)


def _read_digits(digits: str, plan: NumberingPlan, incoming: bool) -> _Reading:
    home = plan.home
    idd = home.international_pattern.match(digits)
    if idd is not None and 0 < idd.end() < len(digits) and digits[idd.end()] != "0":
        return _international(digits[idd.end() :])
    if digits.startswith("00") and digits[2:3] not in ("", "0"):
        return _international(digits[2:])
    if home.trunk_prefix and digits.startswith(home.trunk_prefix):
        return _national(digits, home)
    return _without_prefix(digits, plan, incoming)


def _international(digits: str) -> _Reading:
    if not digits:
        return _Reading(error=NOTHING_AFTER_PREFIX)
    split = split_country_code(digits)
    if split is None:
        if digits[0] == "0":
            return _Reading(error=TEMPLATES["calling_code_zero"])
        return _Reading(error=_unknown_code(digits[:3]))
    code, rest = split
    country = country_for_code(code)
    if country is None:  # pragma: no cover - split_country_code only finds known codes
        return _Reading(error=_unknown_code(str(code)))
    if country.plain_trunk_prefix is None:
        return _via_phonenumbers("+" + digits, None)
    # After a country code, a kept trunk prefix is not read away: "+1 1 310 1234" is no
    # number, as phonenumbers says, even though 310 1234 is one in Canada.
    return _without_trunk_prefix(rest, country, read_short=False)


def _national(digits: str, home: Country) -> _Reading:
    if home.plain_trunk_prefix is None:
        return _via_phonenumbers(digits, home.region)
    return _without_trunk_prefix(digits, home)


def _without_trunk_prefix(digits: str, country: Country, read_short: bool = True) -> _Reading:
    nsn = _strip_trunk_prefix(digits, country)
    reading = _validated(country, nsn)
    prefix = country.plain_trunk_prefix
    if reading.valid or nsn != digits or not prefix or not digits.startswith(prefix):
        return reading
    if not read_short:
        return reading
    # Kept the trunk prefix because the rest is too short for a number: then the number is
    # too short ("044 123 45"), and its digits without the prefix are what it says.
    return _validated(country, digits[len(prefix) :])


def _without_prefix(digits: str, plan: NumberingPlan, incoming: bool) -> _Reading:
    home = plan.home
    if len(digits) >= _MIN_DIGITS_WITH_HOME_CODE and digits.startswith(str(home.code)):
        # "493023125741": cloud phone systems (sipgate, Zammad's CTI API) send E.164 without
        # the "+". In open plans a national reading is valid too, but no local or national
        # number is this long and starts with the country's own code.
        with_code = _international(digits)
        if with_code.valid:
            return with_code
    as_national = _national(digits, home)
    if as_national.valid and (incoming or not plan.area_code or not home.open_plan):
        return as_national
    as_local = None
    if plan.area_code and len(digits) <= _MAX_LOCAL_DIGITS:
        as_local = _national(plan.area_code + digits, home)
    if as_local is not None and as_local.valid:
        return as_local
    if as_national.valid:
        return as_national
    if len(digits) >= _MIN_DIGITS_WITHOUT_PREFIX:
        abroad = _international(digits)
        if abroad.valid:
            return abroad
    if not plan.area_code:
        if home.open_plan and len(digits) <= _MAX_LOCAL_DIGITS:
            return replace(as_national, error=LOCAL_WITHOUT_AREA_CODE)
        if as_national.reason in (
            ValidationResult.TOO_SHORT,
            ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
        ):
            return replace(as_national, error=_about("too_short_add_area_code", home))
    # Keep the reading a person meant (the local one, for typed numbers) for its digits:
    # a switchboard "12345-0" heads its block even though it is no valid number.
    if as_local is not None and not incoming:
        return replace(as_local, error=as_national.error)
    return as_national


def _strip_trunk_prefix(digits: str, country: Country) -> str:
    """`digits` without the country's trunk prefix, exactly where `phonenumbers.parse` strips it.

    It keeps the prefix when the number is only viable with it, and when the rest would be too
    short for a national number (a short number that starts with the prefix digit).
    """
    prefix = country.plain_trunk_prefix
    if not prefix or not digits.startswith(prefix):
        return digits
    rest = digits[len(prefix) :]
    if country.general.fullmatch(digits) and not country.general.fullmatch(rest):
        return digits
    size = len(rest)
    lengths = country.lengths
    if size in country.local_lengths or size < lengths[0]:
        return digits
    if size <= lengths[-1] and size not in lengths:
        return digits
    return rest


def _validated(country: Country, nsn: str, number: PhoneNumber | None = None) -> _Reading:
    if len(nsn) < _MIN_NSN:
        return _Reading(
            country,
            nsn,
            error=_about("too_short", country),
            reason=ValidationResult.TOO_SHORT,
        )
    if len(nsn) > _MAX_NSN:
        return _Reading(
            country, nsn, error=_about("too_long", country), reason=ValidationResult.TOO_LONG
        )
    region = valid_region(country.code, nsn)
    if region is not None:
        return _Reading(country, nsn, region, valid=True)
    if number is None:
        number = phone_number(country.code, nsn)
    reason = phonenumbers.is_possible_number_with_reason(number)
    return _Reading(country, nsn, error=_why_invalid(reason, country), reason=reason)


def _why_invalid(reason: int, country: Country) -> str:
    if reason == ValidationResult.TOO_SHORT:
        return _about("too_short", country)
    if reason == ValidationResult.TOO_LONG:
        return _about("too_long", country)
    if reason == ValidationResult.INVALID_LENGTH:
        return _about("wrong_length", country)
    if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return _about("too_short_area_code_missing", country)
    return _about("no_such_number", country)


def _about(code: str, country: Country) -> str:
    """The text of a problem with the numbers of `country`."""
    name = country.region if country.adjective[:1] != "+" else country.adjective
    return Problem(code, {"country": name}).text


def _unknown_code(code: str) -> str:
    return Problem("unknown_calling_code", {"code": code}).text


def _via_phonenumbers(text: str, region: str | None) -> _Reading:
    """Countries whose trunk prefix carries carrier codes (Brazil, Argentina…) and mobile
    tokens are read by `phonenumbers.parse` itself."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as problem:
        code = split_country_code(text.lstrip("+"))
        country = country_for_code(code[0]) if code else None
        return _Reading(country, error=_parse_error(problem, country))
    country = country_for_code(number.country_code or 0)
    if country is None:  # pragma: no cover - parse only accepts known calling codes
        return _Reading(error=_unknown_code(str(number.country_code)))
    nsn = phonenumbers.national_significant_number(number)
    return _validated(country, nsn, number)


def _parse_error(problem: NumberParseException, country: Country | None) -> str:
    if problem.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return TEMPLATES["no_calling_code"]
    if problem.error_type == NumberParseException.TOO_LONG:
        return _about("too_long", country) if country else TEMPLATES["too_long_any"]
    if problem.error_type == NumberParseException.NOT_A_NUMBER:
        return NOT_A_NUMBER
    return _about("too_short", country) if country else TEMPLATES["too_short_any"]


def _with_dash_extension(
    text: str, plan: NumberingPlan, incoming: bool, reading: _Reading
) -> tuple[_Reading, str | None]:
    """ "044 123 45 67-12": a complete number, then a dash and an extension.

    Tried only when the digits as a whole are no valid number: where numbers have variable
    length ("+49 89 1234-567" in Germany) the digits after the dash are part of the number.
    """
    match = _DASH_EXTENSION.match(text)
    if match is None:
        return reading, None
    head = clean(match["head"], incoming=incoming)
    if head.error is not None or head.withheld or head.extension is not None:
        return reading, None
    other = _read(head.number, plan, incoming)
    if other.valid:
        return other, match["ext"]
    return reading, None


def _lists_numbers(text: str) -> bool:
    if len(text) > MAX_INPUT_LENGTH:
        return False
    parts = _NUMBER_LIST.split(text)
    return sum(1 for part in parts if sum(c.isdigit() for c in part) >= 6) >= 2
