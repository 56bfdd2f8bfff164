"""Which lines a push is about: by the provider's user, device or number.

A line's address names the user as the provider does (sipgate's user id `w0`, Placetel's SIP
user, the user name a PBX script sends), and its `aliases` (where the driver has them) other
names for the same user. A line may also list `numbers`: its direct number, or
a group number it shares with colleagues, so a call to that number rings each of them.

Providers write numbers in their own ways (`4930600000000`, `030600000000`, `+49 30 …`), so
numbers are compared by their digits: the same digits, or a national number (one leading 0)
whose digits end the international one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from offhook.drivers import LineInfo

_NUMBER = re.compile(r"^\+?[0-9 ()./-]{3,40}$")
#: A national number must have this many digits to be matched against the end of an
#: international one, so that an extension never matches the end of a public number.
MIN_NATIONAL_DIGITS = 6


def _name_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def number_key(text: str) -> tuple[str, bool] | None:
    """The digits of a number and whether they are national (one leading 0), or None when the
    text is no number."""
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        return digits, False
    if digits.startswith("00"):
        return digits[2:], False
    if digits.startswith("0"):
        return digits[1:], True
    return digits, False


def same_number(a: tuple[str, bool], b: tuple[str, bool]) -> bool:
    (digits_a, national_a), (digits_b, national_b) = a, b
    if national_a == national_b:
        return digits_a == digits_b
    national, international = (digits_a, digits_b) if national_a else (digits_b, digits_a)
    return len(national) >= MIN_NATIONAL_DIGITS and international.endswith(national)


class LineMap:
    """The lines of one phone system, found by name or number."""

    def __init__(self, lines: Mapping[int, LineInfo]) -> None:
        self._by_name: dict[str, list[int]] = {}
        self._numbers: list[tuple[tuple[str, bool], int]] = []
        for info in sorted(lines.values(), key=lambda line: line.id):
            for name in [info.address, *(info.options.get("aliases") or [])]:
                self._by_name.setdefault(_name_key(str(name)), []).append(info.id)
            extra = info.options.get("numbers") or []
            for text in [info.address, *extra]:
                key = number_key(str(text))
                if key is not None:
                    self._numbers.append((key, info.id))

    def named(self, name: str) -> list[int]:
        """The lines whose address is `name` (case and spacing aside), else those whose number
        it is."""
        if not name.strip():
            return []
        found = self._by_name.get(_name_key(name))
        return list(found) if found else self.numbered(name)

    def numbered(self, number: str) -> list[int]:
        key = number_key(number)
        if key is None:
            return []
        found: list[int] = []
        for line_key, line_id in self._numbers:
            if same_number(key, line_key) and line_id not in found:
                found.append(line_id)
        return found

    def first_named(self, names: Iterable[str]) -> list[int]:
        """The lines of the first of `names` that names any (a user's id, then their name)."""
        for name in names:
            found = self.named(name)
            if found:
                return found
        return []
