"""Reading submitted forms: lenient about how people type, precise about what is wrong.

A `Form` collects one message per field instead of raising at the first problem, so a page
can show every problem at once and keep everything that was typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from offhook.settings.language import _

_DAY_DOTTED = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{2}|\d{4})$")
_DAY_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.h]?(\d{2}))?(?::(\d{2}))?$")


def parse_day(text: str) -> date | None:
    """A date typed as 26.11.2026, 26.11.26, 26/11/2026 or as the date picker sends it
    (2026-11-26); None if it is none of these or no real date."""
    text = text.strip()
    try:
        if match := _DAY_ISO.match(text):
            year, month, day = (int(part) for part in match.groups())
            return date(year, month, day)
        if match := _DAY_DOTTED.match(text):
            day, month, year = (int(part) for part in match.groups())
            return date(year + 2000 if year < 100 else year, month, day)
    except ValueError:
        return None
    return None


def parse_clock(text: str) -> time | None:
    """A time of day typed as 9:41, 09:41, 9.41, 0941, 9h41, 9 or 09:41:07; None otherwise."""
    text = text.strip().lower()
    match = _CLOCK.match(text)
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    if minutes is None and len(hours) > 2:
        return None
    try:
        return time(int(hours), int(minutes or 0), int(seconds or 0))
    except ValueError:
        return None


@dataclass
class Form:
    """The fields of one submitted form and the problems found while reading them."""

    fields: dict[str, list[str]]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Iterable[tuple[str, object]]) -> Form:
        fields: dict[str, list[str]] = {}
        for key, value in items:
            if isinstance(value, str):  # uploads are never expected: ignore them
                fields.setdefault(key, []).append(value)
        return cls(fields)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)  # the first problem of a field is the one to fix

    def get(self, name: str) -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else ""

    def getlist(self, name: str) -> list[str]:
        return [value.strip() for value in self.fields.get(name, [])]

    def values(self) -> dict[str, str]:
        """The first value of every field, as typed: to show the form again."""
        return {key: values[0] for key, values in self.fields.items() if values}

    def checked(self, name: str) -> bool:
        return self.get(name) in ("on", "1", "true", "yes")

    def text(self, name: str, label: str, max_length: int, *, required: bool = False) -> str:
        value = self.get(name)
        if required and not value:
            self.error(name, _("Please enter the {label}.").format(label=_(label)))
        elif len(value) > max_length:
            self.error(
                name,
                _("The {label} is too long: at most {count} characters.").format(
                    label=_(label), count=max_length
                ),
            )
        return value

    def day(self, name: str, label: str, *, required: bool = False) -> date | None:
        text = self.get(name)
        if not text:
            if required:
                self.error(name, _("Please enter the {label}.").format(label=_(label)))
            return None
        value = parse_day(text)
        if value is None:
            self.error(name, _("“{text}” is no date; write it like 26.11.2026.").format(text=text))
        return value

    def clock(self, name: str, label: str, *, required: bool = False) -> time | None:
        text = self.get(name)
        if not text:
            if required:
                self.error(name, _("Please enter the {label}.").format(label=_(label)))
            return None
        value = parse_clock(text)
        if value is None:
            self.error(
                name, _("“{text}” is no time of day; write it like 09:41.").format(text=text)
            )
        return value

    def integer(
        self, name: str, label: str, minimum: int, maximum: int, *, required: bool = False
    ) -> int | None:
        text = self.get(name)
        if not text:
            if required:
                self.error(name, _("Please enter the {label}.").format(label=_(label)))
            return None
        try:
            value = int(text)
        except ValueError:
            self.error(name, _("The {label} must be a whole number.").format(label=_(label)))
            return None
        if not minimum <= value <= maximum:
            self.error(
                name,
                _("The {label} must be between {minimum} and {maximum}.").format(
                    label=_(label), minimum=minimum, maximum=maximum
                ),
            )
            return None
        return value

    def ref(self, name: str) -> int | None:
        """The id chosen in a select or set by a picker; None when nothing was chosen."""
        text = self.get(name)
        if not text:
            return None
        if not text.isdigit():
            self.error(name, _("Please choose from the list."))
            return None
        return int(text)


@dataclass(frozen=True, slots=True)
class Submitted:
    """A form as read: what was typed (with its problems) and the values to store."""

    form: Form
    fields: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.form.ok
