"""Why a text is no usable phone number: a stable code and its parts, and the English text.

The parser writes its problems in English (`ParsedNumber.error`), and that text is what is
stored with an address (`normalize_error`) and what the JSON of `offhook numbers parse` and the
API carries. `problem_of` reads such a text back into a `Problem`: a code that does not change
when the wording does, and the parts that vary (which country, which character). The pages and
the command line translate a problem where they show it (`offhook.settings.number_problems`),
with the English templates below as the catalogue's texts.

Every text the parser can write is one of the templates (`tests/numbers` checks this on many
inputs), so a stored text from any release is read back as long as its template is kept.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache

from offhook.numbers.countries import _ADJECTIVES


def N_(text: str) -> str:
    """Marks a text for offhook's catalogue (the extractor looks for this name); this package
    imports nothing of offhook, so the text is translated where it is shown."""
    return text


# The templates' parts: `country` is a region ("CH") or a calling code ("+263") and becomes
# `a_number` ("a Swiss number") in English; translations name the country with its name in
# their language (`{country}`). `code` is a calling code's digits, `char` a character as shown.
TEMPLATES: dict[str, str] = {
    "too_long_text": N_("too long to be a phone number"),
    "no_digits": N_("not a phone number: it contains no digits"),
    "no_number_in_uri": N_("a SIP address without a phone number"),
    "hidden_digits": N_("some digits are hidden (written as x)"),
    "letters": N_("contains letters that are not part of a phone number"),
    "foreign_character": N_("contains {char}, which is not part of a phone number"),
    "several_plus": N_("contains more than one +"),
    "two_numbers": N_("more than one number: keep one number per field"),
    "misplaced_plus": N_("a + belongs only at the start of a number"),
    "nothing_after_prefix": N_("nothing follows the international prefix"),
    "local_without_area_code": N_(
        "a local number without area code: add the area code, or set the home area code in "
        "Settings > Telephony"
    ),
    "calling_code_zero": N_("no country calling code starts with 0"),
    "unknown_calling_code": N_("no country has the calling code +{code}"),
    "no_calling_code": N_("no country calling code at the start of the number"),
    "too_short_any": N_("too short for a phone number"),
    "too_long_any": N_("too long for a phone number"),
    "too_short": N_("too short for {a_number}"),
    "too_short_add_area_code": N_("too short for {a_number}: add the area code"),
    "too_short_area_code_missing": N_("too short for {a_number}: the area code is missing"),
    "too_long": N_("too long for {a_number}"),
    "wrong_length": N_("wrong number of digits for {a_number}"),
    "no_such_number": N_("not {a_valid_number}: no such area code or number range"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: `code` (a key of `TEMPLATES`) and its parts."""

    code: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The English text, as the parser writes it."""
        return TEMPLATES[self.code].format(**english_parts(self.params))

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "params": dict(self.params), "text": self.text}


def english_parts(params: dict[str, str]) -> dict[str, str]:
    """The parts as the English templates use them ("a Swiss number" for country "CH")."""
    parts = dict(params)
    country = params.get("country")
    if country is not None:
        adjective = _ADJECTIVES.get(country, country)
        article = "an" if adjective[0] in "AEIO" else "a"  # as `Country.a_number`
        parts["a_number"] = f"{article} {adjective} number"
        parts["a_valid_number"] = f"a valid {adjective} number"
    char = params.get("char")
    if char is not None:
        parts["char"] = repr(char)
    return parts


_PART_PATTERNS = {
    "a_number": r"an? (?P<adjective>.+?) number",
    "a_valid_number": r"a valid (?P<adjective>.+?) number",
    "code": r"(?P<code>\d+)",
    "char": r"(?P<char>'.*'|\".*\")",
}


@cache
def _readers() -> tuple[tuple[str, re.Pattern[str]], ...]:
    readers = []
    for code, template in TEMPLATES.items():
        pattern = re.sub(r"\\\{(\w+)\\\}", lambda m: _PART_PATTERNS[m[1]], re.escape(template))
        readers.append((code, re.compile(pattern)))
    return tuple(readers)


@cache
def _regions_by_adjective() -> dict[str, str]:
    return {adjective: region for region, adjective in _ADJECTIVES.items()}


def problem_of(text: str | None) -> Problem | None:
    """The problem an English text of the parser (or a stored one) says; None for other text."""
    if not text:
        return None
    for code, pattern in _readers():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        params: dict[str, str] = {}
        groups = match.groupdict()
        if groups.get("adjective") is not None:
            adjective = groups["adjective"]
            params["country"] = _regions_by_adjective().get(adjective, adjective)
        if groups.get("code") is not None:
            params["code"] = groups["code"]
        if groups.get("char") is not None:
            try:
                params["char"] = str(ast.literal_eval(groups["char"]))
            except (ValueError, SyntaxError):
                continue
        return Problem(code, params)
    return None
