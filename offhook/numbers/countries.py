"""What offhook needs to know about a country, read once from `phonenumbers` metadata.

`phonenumbers` looks its metadata up and compiles its patterns on every call. For bulk
normalization (tens of thousands of numbers a second) we read the few facts we need once per
country and keep them here: trunk and international prefixes, possible lengths, and the
formatting rules as compiled patterns with their templates already expanded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import product
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata

# Regions that share a calling code keep their formatting rules in the main region's metadata
# (US for +1, GB for +44…): `COUNTRY_CODE_TO_REGION_CODE` lists the main region first.
_REGIONS_FOR_CODE: dict[int, tuple[str, ...]] = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
_NON_GEOGRAPHIC = "001"

# `phonenumbers` writes a formatting template's groups as `\1`; the national prefix rule
# (`0\1`) replaces the first group of the template. Same expression as upstream.
_FIRST_GROUP = re.compile(r"(\\\d)")

# Country names for error messages ("too short for a Swiss number"). phonenumbers ships names
# only inside its geocoder data, which costs ~100 MB of memory to import; a short table of the
# countries our users call most is enough, the rest are named by their calling code.
_ADJECTIVES: dict[str, str] = {
    "AT": "Austrian",
    "AU": "Australian",
    "BE": "Belgian",
    "BR": "Brazilian",
    "CA": "Canadian",
    "CH": "Swiss",
    "CN": "Chinese",
    "CZ": "Czech",
    "DE": "German",
    "DK": "Danish",
    "ES": "Spanish",
    "FI": "Finnish",
    "FR": "French",
    "GB": "UK",
    "GR": "Greek",
    "HR": "Croatian",
    "HU": "Hungarian",
    "IE": "Irish",
    "IN": "Indian",
    "IT": "Italian",
    "JP": "Japanese",
    "LI": "Liechtenstein",
    "LU": "Luxembourg",
    "MX": "Mexican",
    "NL": "Dutch",
    "NO": "Norwegian",
    "PL": "Polish",
    "PT": "Portuguese",
    "RO": "Romanian",
    "RS": "Serbian",
    "RU": "Russian",
    "SE": "Swedish",
    "SI": "Slovenian",
    "SK": "Slovak",
    "TR": "Turkish",
    "UA": "Ukrainian",
    "US": "US",
}


@dataclass(frozen=True, slots=True)
class Layout:
    """One formatting rule: which numbers it applies to and how to group their digits."""

    leading: re.Pattern[str] | None  # the most detailed leading-digits pattern, if any
    pattern: re.Pattern[str]
    # The template ("0\\1 \\2 \\3", national prefix rule applied) as a `str.format`
    # string over the match's groups ("0{0} {1} {2}"): faster than `re.sub` on every call.
    template: str

    def apply(self, nsn: str) -> str | None:
        """The number grouped by this layout, or None if the layout does not fit it."""
        if self.leading is not None and self.leading.match(nsn) is None:
            return None
        match = self.pattern.fullmatch(nsn)
        if match is None:
            return None
        return self.template.format(*match.groups(""))


@dataclass(frozen=True, slots=True)
class Country:
    """The facts about one calling code that parsing, formatting and dialling need."""

    region: str  # main ISO region of the calling code
    code: int
    adjective: str  # "Swiss", "UK", "+263": how error messages name the country's numbers
    trunk_prefix: str  # dialled before national numbers ("0"; "1" in the US; "" in Italy)
    # The national prefix as `phonenumbers` strips it when parsing, when that is plain digits;
    # None where it is a pattern with carrier codes (Brazil, Argentina…): those numbers are
    # read by `phonenumbers.parse` itself.
    plain_trunk_prefix: str | None
    international_prefix: str  # what to dial before a country code from here ("00", "011")
    international_pattern: re.Pattern[str]  # every international prefix this country accepts
    general: re.Pattern[str]  # any national significant number of the country
    lengths: tuple[int, ...]  # possible lengths of a national significant number, sorted
    local_lengths: frozenset[int]  # lengths only diallable locally, without area code
    extension_prefix: str
    national_layouts: tuple[Layout, ...]
    international_layouts: tuple[Layout, ...]

    @property
    def a_number(self) -> str:
        """ "a Swiss number", "an Austrian number": for error messages."""
        article = "an" if self.adjective[0] in "AEIO" else "a"  # "a UK number"
        return f"{article} {self.adjective} number"

    @property
    def open_plan(self) -> bool:
        """Whether local numbers can be dialled without area code (Germany, Austria, US…)."""
        return bool(self.local_lengths)


@dataclass(frozen=True, slots=True)
class _RegionRules:
    """Validity rules of one region, compiled: what `phonenumbers.is_valid_number` checks.

    A number is valid if it fits the general description and the description of at least one
    number type (fixed line, mobile, toll free…). The type patterns are joined into one
    pattern per number length, so that checking costs two regular-expression matches.
    """

    region: str
    leading: re.Pattern[str] | None  # numbers of a shared calling code that belong here
    lengths: frozenset[int]  # of the general description; empty: any
    general: re.Pattern[str]
    types_by_length: dict[int, re.Pattern[str]]

    def valid(self, nsn: str) -> bool:
        size = len(nsn)
        if self.lengths and size not in self.lengths:
            return False
        types = self.types_by_length.get(size)
        return bool(types and self.general.fullmatch(nsn) and types.fullmatch(nsn))


# The number types phonenumbers checks for validity, in its order.
_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def valid_region(code: int, nsn: str) -> str | None:
    """The region of a valid number, or None if the number is not valid.

    Same answer as `phonenumbers.region_code_for_number` followed by
    `is_valid_number_for_region`, with the patterns compiled once instead of per call.
    """
    regions = _REGIONS_FOR_CODE.get(code, ())
    for region in regions:
        rules = _rules(region, code)
        if rules is None:  # pragma: no cover - every listed region has metadata
            continue
        if len(regions) == 1:
            return region if rules.valid(nsn) else None
        if rules.leading is not None:
            if rules.leading.match(nsn):
                return region if rules.valid(nsn) else None
        elif rules.valid(nsn):
            return region
    return None


@cache
def _rules(region: str, code: int) -> _RegionRules | None:
    md = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if md is None:  # pragma: no cover - every listed region has metadata
        return None
    general = md.general_desc
    if general is None:  # pragma: no cover - every region has a general description
        return None
    lengths = frozenset(general.possible_length)
    by_length: dict[int, list[str]] = {}
    for name in _TYPES:
        desc = getattr(md, name)
        if desc is None or not desc.national_number_pattern:
            continue
        # A type without lengths of its own has those of the general description.
        for size in desc.possible_length or general.possible_length or range(1, 18):
            by_length.setdefault(size, []).append(desc.national_number_pattern)
    return _RegionRules(
        region=region,
        leading=re.compile(md.leading_digits) if md.leading_digits else None,
        lengths=lengths,
        general=re.compile(general.national_number_pattern or "(?!)"),
        types_by_length={
            size: re.compile("|".join(f"(?:{p})" for p in patterns))
            for size, patterns in by_length.items()
        },
    )


@cache
def country_for_code(code: int) -> Country | None:
    """The country of a calling code, or None if no country has it."""
    regions = _REGIONS_FOR_CODE.get(code)
    if not regions:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
    if metadata is None:  # pragma: no cover - every listed code has metadata
        return None
    return _build(code, regions[0], metadata)


def country_for_region(region: str) -> Country | None:
    code = phonenumbers.country_code_for_valid_region(region) if region else 0
    return country_for_code(code) if code else None


def split_country_code(digits: str) -> tuple[int, str] | None:
    """Split E.164 digits (without +) into calling code and the rest; None if none matches.

    Calling codes are prefix-free (ITU E.164), so the first of 1, 2 or 3 digits that is a
    calling code is the one.
    """
    if not digits or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        head = digits[:size]
        if len(head) < size or not (head.isdigit() and head.isascii()):
            return None
        code = int(head)
        if code in _REGIONS_FOR_CODE:
            return code, digits[size:]
    return None


def phone_number(code: int, nsn: str) -> phonenumbers.PhoneNumber:
    """A `phonenumbers.PhoneNumber` for a calling code and national significant number.

    What `phonenumbers.parse` builds, without parsing: leading zeros of the national number
    (kept in Italy: "+39 06 …") are recorded the way `phonenumbers` records them.
    """
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(nsn))
    if len(nsn) > 1 and nsn[0] == "0":
        number.italian_leading_zero = True
        zeros = len(nsn) - len(nsn.lstrip("0"))
        zeros = min(zeros, len(nsn) - 1)  # of "000", the last 0 is the number itself
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return number


def _build(code: int, region: str, md: Any) -> Country:
    parse_prefix: str | None = md.national_prefix_for_parsing
    if parse_prefix is None:
        plain: str | None = ""
    elif parse_prefix.isdigit() and md.national_prefix_transform_rule is None:
        plain = parse_prefix
    else:
        plain = None
    international = md.international_prefix or ""
    national = tuple(_layout(f, md, national=True) for f in md.number_format)
    if md.intl_number_format:
        intl = tuple(_layout(f, md, national=False) for f in md.intl_number_format)
    else:
        intl = tuple(_layout(f, md, national=False) for f in md.number_format)
    general = md.general_desc
    assert general is not None  # every region has a general description
    return Country(
        region=region,
        code=code,
        adjective=_ADJECTIVES.get(region, f"+{code}"),
        trunk_prefix=md.national_prefix or "",
        plain_trunk_prefix=plain,
        international_prefix=_dialled_international_prefix(md),
        international_pattern=re.compile(international or "(?!)"),
        general=re.compile(general.national_number_pattern or "(?!)"),
        lengths=tuple(sorted(general.possible_length)),
        local_lengths=frozenset(general.possible_length_local_only),
        extension_prefix=md.preferred_extn_prefix or " ext. ",
        national_layouts=national,
        international_layouts=intl,
    )


def _layout(fmt: Any, md: Any, *, national: bool) -> Layout:
    leading = re.compile(fmt.leading_digits_pattern[-1]) if fmt.leading_digits_pattern else None
    template: str = fmt.format
    rule = fmt.national_prefix_formatting_rule
    if national and rule:
        template = _FIRST_GROUP.sub(rule, template, count=1)
    template = template.replace("{", "{{").replace("}", "}}")
    template = re.sub(r"\\(\d)", lambda m: f"{{{int(m.group(1)) - 1}}}", template)
    return Layout(leading=leading, pattern=re.compile(fmt.pattern), template=template)


def _dialled_international_prefix(md: Any) -> str:
    """The digits to dial before a country code, from the country's metadata.

    Most countries have one ("00", "011"); some list a preferred one ("8~10" in Russia: wait
    for the dial tone after the 8). Where the metadata only has a pattern (carrier selection in
    Brazil, Korea…), the shortest digit string the pattern accepts is as good as any.
    """
    preferred = md.preferred_international_prefix or md.international_prefix or ""
    preferred = preferred.replace("~", "")
    if preferred.isdigit():
        return str(preferred)
    pattern = re.compile(md.international_prefix or "00")
    for size in (2, 3, 4):
        for digits in product("0123456789", repeat=size):
            candidate = "".join(digits)
            if pattern.fullmatch(candidate):
                return candidate
    return "00"  # pragma: no cover - every pattern in the metadata accepts a short prefix


@lru_cache(maxsize=256)  # user input: bounded
def region_for_country_input(text: str) -> str | None:
    """The ISO region a user meant by "CH", "ch", "41", "+41", "0041" or "UK"; None if unknown."""
    text = text.strip().upper()
    if text == "UK":  # what people write; ISO says GB
        return "GB"
    if text in phonenumbers.SUPPORTED_REGIONS:
        return text
    digits = text.removeprefix("+").removeprefix("00")
    if digits.isdigit() and digits.isascii() and len(digits) <= 3:
        region = phonenumbers.region_code_for_country_code(int(digits))
        if region not in ("ZZ", _NON_GEOGRAPHIC):
            return str(region)
    return None
