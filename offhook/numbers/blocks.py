"""Number blocks: finding a company by its switchboard when someone calls from a direct line.

A firm gets a block of numbers from its carrier; the switchboard and every direct-dial number
share the block's leading digits. CRMs usually hold the switchboard number only, written so
that the block shows: "+41 44 123 45 00", "+41 44 123 45-0" or "0711 12345-0" (DIN 5008).
A call from "+41 44 123 45 67" is then from that company, probably.

The rule, deliberately conservative (a wrong company is worse than none):

- a stored number heads a block when its text ends in a group of one to three zeros, set
  apart by a space, dash, dot or slash ("… 45 00", "…45-0", "… 45 0"); a number written
  without separators ("+41441234500") says nothing about its block;
- the block prefix is the number's E.164 digits without that group ("+414412345"). The number
  need not be valid: "+41 44 123 45-0" is a switchboard but no dialable number; an invalid
  number must then be too short for a number of its country, as that notation is;
- mobile numbers head no blocks, and neither do numbers with an extension;
- a block prefix keeps at least the country code, the area code and three more digits, and at
  least five digits of the national number, so a block is never a whole town.

`block_prefixes` gives, for a caller's number, the prefixes to look up with the same floor,
longest (closest block) first: a few indexed point queries, never a scan.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from offhook.numbers.countries import Country, country_for_code, phone_number, split_country_code
from offhook.numbers.number import NumberKind, ParsedNumber

MAX_DROPPED_DIGITS = 5  # direct-dial extensions have at most five digits
MIN_BLOCK_DIGITS = 5  # of the national significant number
DIGITS_AFTER_AREA_CODE = 3

_ZERO_GROUP = re.compile(
    r"(?<=\d)[ \t\u00a0\u2009\u202f\-\u2010\u2011\u2012\u2013\u2014\u2212./]+(0{1,3})\s*$"
)


def switchboard_prefix(parsed: ParsedNumber, as_entered: str) -> str | None:
    """The E.164 digits of the number block that `as_entered` heads, or None (see the rule).

    `parsed` is what `parse` made of the same text; its `block` already holds the answer.
    For a `parsed` of other text (say, the normalized number), the prefix is derived from its
    E.164 form and the grouping of `as_entered`.
    """
    if parsed.kind not in (NumberKind.EXTERNAL, NumberKind.INVALID):
        return None
    if as_entered == parsed.input:
        return parsed.block
    if parsed.e164 is None or parsed.extension:
        return None
    split = split_country_code(parsed.e164[1:])
    if split is None:
        return None
    country = country_for_code(split[0])
    if country is None:  # pragma: no cover - split_country_code only finds known codes
        return None
    return block_head(as_entered, country, split[1], valid=True)


def block_head(text: str, country: Country, nsn: str, *, valid: bool) -> str | None:
    """The block prefix of `text` read as national significant number `nsn` of `country`."""
    stripped = text.rstrip()
    if not stripped.endswith("0"):
        return None
    match = _ZERO_GROUP.search(stripped)
    if match is None:
        return None
    zeros = match.group(1)
    if not nsn.endswith(zeros):
        return None  # the zeros were read as an extension, not as part of the number
    head = nsn[: -len(zeros)]
    if not valid and len(nsn) >= country.lengths[0]:
        return None  # not a block head written short ("…45-0"), just a wrong number
    number = phone_number(country.code, nsn)
    if valid and phonenumbers.number_type(number) == PhoneNumberType.MOBILE:
        return None
    if len(head) < _floor(number, valid=valid):
        return None
    return f"+{country.code}{head}"


def block_prefixes(e164: str) -> list[str]:
    """The block prefixes a caller's number may belong to, longest first; [] for none.

    Drops one to five trailing digits, never below the floor of the rule above, so a lookup
    costs at most five indexed point queries. Mobile numbers belong to no block.
    """
    split = split_country_code(e164[1:]) if e164.startswith("+") else None
    if split is None:
        return []
    code, nsn = split
    country = country_for_code(code)
    if country is None or not nsn.isdigit() or not nsn.isascii():
        return []
    number = phone_number(country.code, nsn)
    # One type check answers both questions: a number is valid exactly when it is of some
    # type. (This runs for every call event; each check tries the country's number patterns.)
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.MOBILE:
        return []
    floor = _floor(number, valid=kind != PhoneNumberType.UNKNOWN)
    return [
        f"+{code}{nsn[:-dropped]}"
        for dropped in range(1, MAX_DROPPED_DIGITS + 1)
        if len(nsn) - dropped >= floor
    ]


def _floor(number: phonenumbers.PhoneNumber, *, valid: bool) -> int:
    """The shortest block prefix (national digits) of a number that is no mobile number."""
    area = _area_code_length(number) if valid else 0
    return max(area + DIGITS_AFTER_AREA_CODE, MIN_BLOCK_DIGITS)


_NON_DIGITS = re.compile(r"\D+")


def _area_code_length(number: phonenumbers.PhoneNumber) -> int:
    # phonenumbers.length_of_national_destination_code reads the first group of the
    # international format; for a mobile number it checks the number's type once more (a
    # mobile token may precede the code). The callers have ruled mobiles out, so that second
    # check is spared.
    groups = _NON_DIGITS.split(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))
    return len(groups[2]) if len(groups) > 3 else 0
