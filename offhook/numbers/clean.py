"""From text as people type it and as phone systems deliver it to a plain string of digits.

This step knows nothing about countries: it unwraps SIP and tel URIs, recognises withheld
numbers, splits off extensions, reads vanity letters and drops separators. What the digits
mean is decided in `offhook.numbers.parse`.

Most numbers are plain ("+41 44 123 45 67", "044/123.45.67"): one `str.translate` turns them
into digits and we are done. Everything else takes the slower road below.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

from offhook.numbers.problems import TEMPLATES, Problem

MAX_INPUT_LENGTH = 300  # a SIP name-addr with a long display name fits; a pasted page does not
MAX_DIGITS = 40  # E.164 has 15; prefixes and an extension add a few, beyond that it is junk

TOO_LONG_TEXT = TEMPLATES["too_long_text"]
NOT_A_NUMBER = TEMPLATES["no_digits"]
NO_NUMBER_IN_URI = TEMPLATES["no_number_in_uri"]
HIDDEN_DIGITS = TEMPLATES["hidden_digits"]

# Characters people put between digit groups: spaces of every width, dashes, dots, slashes,
# brackets, and the invisible marks that come with numbers copied from web pages and PDFs.
_SEPARATORS = (
    " \t\r\n\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u202f\u205f\u2060\u3000"
    "\ufeff\u00ad"
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
    ".\u00b7\u2024\u30fb\uff0e\u3002"
    "/\u2044\u2215\uff0f\\"
    "()[]\uff08\uff09\uff3b\uff3d"
)
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"

_FAST: dict[int, str | None] = {ord(c): None for c in _SEPARATORS}
_FAST.update({0xFF10 + i: str(i) for i in range(10)})  # full-width digits
_FAST[0xFF0B] = "+"  # full-width plus

# For the slow road: unify dashes and spaces so that the patterns below see one of each.
_UNIFY: dict[int, str] = {ord(c): "-" for c in _DASHES}
_UNIFY.update({ord(c): " " for c in _SEPARATORS[: _SEPARATORS.index("-")]})

_DROP = re.compile(r"[\s\-./\\()\[\]'\"_]+")

# Words phone systems and carriers use for a suppressed or missing caller ID (any case).
WITHHELD_WORDS = frozenset(
    {
        "",
        "anonymous",
        "anonym",
        "anonyme",
        "anonimo",
        "anónimo",
        "unknown",
        "unbekannt",
        "inconnu",
        "sconosciuto",
        "restricted",
        "private",
        "privat",
        "privé",
        "prive",
        "private number",
        "unavailable",
        "not available",
        "withheld",
        "number withheld",
        "clir",
        "blocked",
        "suppressed",
        "no caller id",
        "no callerid",
        "no number",
        "out of area",
        "unknown number",
        "nicht verfügbar",
        "rufnummer unterdrückt",
        "unterdrückt",
    }
)
# Bellcore caller-ID letters: "P" private, "O" out of area. Only believed from a phone system.
_WITHHELD_LETTERS = frozenset({"p", "o"})

_ANGLE = re.compile(r"<([^<>]*)>")
_SCHEME = re.compile(r"(?i)(?<![a-z])(sips?|tel|callto|phone|fax|modem|dial):(?://)?")
_WORD_STRIP = " \t\"'<>()[]-_.:;,*#"

# Possessive quantifiers (`*+`): a long run of blanks must not make the search backtrack.
_EXTENSION = re.compile(
    r"""(?ix)
    (?<=[\d\s.,;)\-])                       # right after the number
    \s*+[,;]?\s*+
    (?:ext(?:ension|n)?|durchwahl|dw|poste|intern|int|apparat|app|x|\#|ext=)
    \s*+[.:=]?\s*+
    (?P<digits>\d{1,7})\s*+$
    """
)
_PAUSE_EXTENSION = re.compile(r"(?<=\d)\s*+[,;pPwW]++\s*+(?P<digits>\d{1,7})\s*+$")  # pauses
_GSM_CLIR = re.compile(r"^\s*[*#]3[01]#")  # per-call CLIR on/off codes dialled before a number
_FIRST_DIGIT = re.compile(r"[\d+]")
_BRACKETS = re.compile(r"\([^()]*+\)")
# Digits, then "x" for the digits a redacted number hides: "040xxx", "123x", "040 xx xx".
_HIDDEN_DIGITS = re.compile(r"\d(?:[xX]|\s++[xX]{2})[xX\d\s.\-/]*+$")

_KEYPAD = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "2223334445556667777888999922233344455566677778889999",
)


@dataclass(frozen=True, slots=True)
class Cleaned:
    """Digits (with "+" where one was written) and what was said around them."""

    number: str = ""
    extension: str | None = None
    withheld: bool = False
    error: str | None = None
    fallback: str | None = None  # a second reading: the digits without words written after them


_WITHHELD = Cleaned(withheld=True)


def clean(text: str, *, incoming: bool = False) -> Cleaned:
    """Split `text` into the digits of a number and what surrounds them; never raises."""
    if len(text) > MAX_INPUT_LENGTH:
        return Cleaned(error=TOO_LONG_TEXT)
    fast = text.translate(_FAST)
    if fast.isascii():
        if fast.isdigit():
            return _checked(fast)
        if fast[:1] == "+" and fast[1:].isdigit():
            return _checked(fast)
        if not fast:
            return _WITHHELD
    return _slow(text, incoming)


def _checked(number: str, extension: str | None = None, fallback: str | None = None) -> Cleaned:
    if len(number) > MAX_DIGITS:
        return Cleaned(error=TOO_LONG_TEXT)
    return Cleaned(number, extension, fallback=fallback)


def _slow(text: str, incoming: bool) -> Cleaned:
    t = unicodedata.normalize("NFKC", text)
    t = "".join(_ascii_digit(c) for c in t).translate(_UNIFY).strip()
    if _is_withheld_word(t, incoming):
        return _WITHHELD

    number, in_uri, from_uri, withheld = _unwrap(t)
    if withheld or _is_withheld_word(number, incoming):
        return _WITHHELD

    number = _GSM_CLIR.sub("", number)
    extension = in_uri or None
    for pattern in (_EXTENSION, _PAUSE_EXTENSION):
        match = None if extension else pattern.search(number)
        if match:
            extension = match["digits"]
            number = number[: match.start()]

    first = _FIRST_DIGIT.search(number)
    if first is None:
        return Cleaned(error=NO_NUMBER_IN_URI if from_uri else NOT_A_NUMBER)
    if _hides_digits(number):
        # Read without its "x", "040xxx" would pass for the extension 040.
        return Cleaned(error=HIDDEN_DIGITS)
    number = number[first.start() :]  # "Tel.:", "Mobile", "T" before the number

    primary, fallback = _read_letters(number)
    if primary is None:
        if fallback is None:
            return Cleaned(error=_foreign(_DROP.sub("", number)) or NOT_A_NUMBER)
        primary, fallback = fallback, None
    primary_digits = _DROP.sub("", primary)
    foreign = _foreign(primary_digits)
    if foreign:
        return Cleaned(error=foreign)
    fallback_digits = _DROP.sub("", fallback) if fallback is not None else None
    if fallback_digits is not None and _foreign(fallback_digits):
        fallback_digits = None
    return _checked(primary_digits, extension, fallback_digits)


def _hides_digits(number: str) -> bool:
    letters = {c for c in number if c.isalpha()}
    return bool(letters) and letters <= {"x", "X"} and _HIDDEN_DIGITS.search(number) is not None


def _ascii_digit(char: str) -> str:
    # Arabic-Indic, Devanagari and the other decimal digits of Unicode count as digits.
    if char.isdecimal() and not char.isascii():
        return str(unicodedata.decimal(char))
    return char


def _is_withheld_word(text: str, incoming: bool) -> bool:
    word = " ".join(text.strip(_WORD_STRIP).lower().split())
    return word in WITHHELD_WORDS or (incoming and word in _WITHHELD_LETTERS)


def _unwrap(text: str) -> tuple[str, str, bool, bool]:
    """The number inside a SIP or tel URI or a name-addr: (number, extension, from_uri, withheld).

    Handles `sip:+41…@host;user=phone`, `sips:`, `<sip:…>`, `"Name" <sip:…>`, `tel:+41-44…;ext=12`,
    `tel:123;phone-context=+4144`, and `Name <+41 44 …>`. Text that is no URI comes back as is.
    """
    angle = _ANGLE.search(text)
    inner = angle.group(1).strip() if angle else text
    scheme = _SCHEME.search(inner)
    if scheme is None:
        return inner, "", False, False
    kind = scheme.group(1).lower()
    rest = inner[scheme.end() :]
    if kind in ("sip", "sips"):
        user, at, host = rest.partition("@")
        if not at:
            user, host = rest, ""
        host = re.split(r"[;?:>]", host, maxsplit=1)[0].strip().lower()
        if host.endswith("anonymous.invalid"):
            return "", "", True, True
        user = user.split(":", 1)[0]  # sip:user:password@host
    else:
        user = re.split(r"[?]", rest, maxsplit=1)[0]
    number, *params = unquote(user).split(";")
    extension = ""
    for param in params:
        name, _, value = param.partition("=")
        name = name.strip().lower()
        value = value.strip()
        if name == "ext":
            extension = value if value.isdigit() and value.isascii() else ""
        elif name == "phone-context" and value.startswith("+") and not number.startswith("+"):
            # RFC 3966: a local number is read in the context of the global number prefix.
            number = value + number
    return number.strip(), extension, True, False


def _read_letters(number: str) -> tuple[str | None, str | None]:
    """(primary reading, fallback reading) of a number that may contain letters.

    Letters are either vanity letters (0800 FLOWERS: read on the telephone keypad) or words
    written after the number ("044 123 45 67 (Zentrale)"). Three or more Latin letters are
    read as vanity letters first, as `phonenumbers` does; the reading without the words is the
    fallback, which the caller uses only if it gives a valid number and the vanity one does not.
    """
    if not any(c.isalpha() for c in number):
        return number, None
    without_words = _BRACKETS.sub(_words_out, number)
    last_digit = max(
        (i for i, c in enumerate(without_words) if c.isdigit() or c == "+"), default=-1
    )
    tail = without_words[last_digit + 1 :]
    if any(c.isalpha() for c in tail):
        without_words = without_words[: last_digit + 1]
    if any(c.isalpha() for c in without_words):
        plain: str | None = None  # letters between digits: only vanity can explain them
    else:
        plain = without_words
    letters = [c for c in number if c.isalpha()]
    # "044 123 xx xx" and "+31260xxxxxx" hide digits, they spell nothing.
    placeholder = len({c.lower() for c in letters}) == 1
    if len(letters) >= 3 and all(c.isascii() for c in letters) and not placeholder:
        return number.translate(_KEYPAD), plain
    return None, plain


def _words_out(bracketed: re.Match[str]) -> str:
    text = bracketed.group()
    return " " if any(c.isalpha() for c in text) else text


def _foreign(number: str) -> str | None:
    """An error message if anything but digits and "+" is left, else None."""
    for char in number:
        if not (char.isdigit() and char.isascii()) and char != "+":
            if char.isalpha():
                return TEMPLATES["letters"]
            shown = char if char.isprintable() else f"U+{ord(char):04X}"
            return Problem("foreign_character", {"char": shown}).text
    if number.count("+") > 1:
        return TEMPLATES["several_plus"]
    return None
