"""What an address book says about one address, before it becomes one: an `ImportedAddress`,
and what went wrong with a row or card (`RowProblem`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pycountry

from offhook.directory.names import CHANNEL_LABELS
from offhook.settings.language import N_, gettext, number_text
from offhook.settings.number_problems import problem_text

# Longest values the store keeps (offhook.store.models); longer ones are refused per row.
MAX_LENGTHS = {
    "salutation": 80,
    "first_name": 200,
    "last_name": 200,
    "company_name": 300,
    "position": 200,
    "street": 300,
    "postcode": 20,
    "city": 200,
}
MAX_CHANNEL_LENGTH = 300
CHANNEL_KINDS = ("phone", "mobile", "fax", "email")

# Country names as address books in the firm's languages write them, beside pycountry's
# English names and ISO codes.
_COUNTRY_NAMES = {
    "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "svizra": "CH", "helvetia": "CH",
    "deutschland": "DE", "allemagne": "DE", "germania": "DE", "brd": "DE",
    "österreich": "AT", "oesterreich": "AT", "autriche": "AT",
    "frankreich": "FR", "francia": "FR",
    "italien": "IT", "italie": "IT", "italia": "IT",
    "liechtenstein": "LI", "fürstentum liechtenstein": "LI",
    "spanien": "ES", "espagne": "ES", "españa": "ES",
    "niederlande": "NL", "pays-bas": "NL", "holland": "NL",
    "belgien": "BE", "belgique": "BE",
    "grossbritannien": "GB", "großbritannien": "GB", "england": "GB", "uk": "GB",
    "vereinigtes königreich": "GB", "royaume-uni": "GB",
    "vereinigte staaten": "US", "usa": "US", "états-unis": "US", "etats-unis": "US",
    "polen": "PL", "pologne": "PL", "tschechien": "CZ", "ungarn": "HU", "schweden": "SE",
    "dänemark": "DK", "norwegen": "NO", "finnland": "FI", "portugal": "PT", "griechenland": "GR",
    "türkei": "TR", "luxemburg": "LU", "irland": "IE", "kroatien": "HR", "slowenien": "SI",
}  # fmt: skip
_BLANKS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Something wrong with a row (CSV) or card (vCard), for the import report.

    An "error" means nothing of the row was imported; a "warning" that it was, with the
    problem noted (a number that cannot be normalized, an unknown country…).
    """

    row: int  # data row of a CSV file (1 = the first row after the header), card of a vCard file
    # In English with named parts ("the country {country} is not known"), marked N_ where it is
    # written: `reason` is the English text (command-line reports, files), `text()` the one in
    # the reader's language (the import pages).
    message: str
    severity: str = "error"  # "error" | "warning" | "duplicate"
    line: int | None = None  # line in the file, where it helps to find the row
    address_id: int | None = None  # the address it concerns, when there is one
    params: dict[str, str | int] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        parts = {k: f"{v:,}" if isinstance(v, int) else v for k, v in self.params.items()}
        return self.message.format(**parts)

    def text(self) -> str:
        """The reason in the current language."""
        translated = gettext(self.message)
        if translated == self.message:  # English, or a language that lacks this text
            return self.reason
        parts = {name: _part(name, value) for name, value in self.params.items()}
        return translated.format(**parts)

    @property
    def where(self) -> str:
        return f"row {self.row}" if self.line is None else f"row {self.row} (line {self.line})"


def _part(name: str, value: str | int) -> str:
    """A part of a row problem as the reader's language writes it."""
    if isinstance(value, int):
        return number_text(value)
    if name == "problem":  # a phone number's problem, as `offhook.numbers` writes it
        return problem_text(value)
    if name == "kind":  # a channel: phone, mobile, fax, e-mail
        return gettext(CHANNEL_LABELS.get(value, value))
    if name in ("field", "delimiter"):  # marked N_ where they are named
        return gettext(value)
    return value


@dataclass(slots=True)
class ImportedAddress:
    """One address as an address book gave it: a person, a company, or a person at a company."""

    row: int
    line: int | None = None
    salutation: str = ""
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    position: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""  # as written; see `country_code`
    notes: str = ""
    channels: list[tuple[str, str, str]] = field(default_factory=list)  # kind, value, label
    is_company: bool = False  # the card says so (vCard KIND:org) even if it names a person
    problems: list[RowProblem] = field(default_factory=list)  # warnings found while reading

    @property
    def kind(self) -> str:
        """ "company", "contact" (a person at a company) or "person"; "" when it names nobody."""
        person = bool(self.first_name or self.last_name)
        if self.company_name and (self.is_company or not person):
            return "company"
        if person:
            return "contact" if self.company_name else "person"
        return ""

    def add_channel(self, kind: str, value: str, label: str = "") -> None:
        value = _BLANKS.sub(" ", value).strip()
        if value and (kind, value) not in {(k, v) for k, v, _ in self.channels}:
            self.channels.append((kind, value, label))

    def set_full_name(self, text: str) -> None:
        """A name in one field: "Anna Müller", "Müller, Anna", "Dr. Anna Maria Müller"."""
        text = _BLANKS.sub(" ", text).strip()
        if not text:
            return
        if "," in text:
            last, _, first = text.partition(",")
            self.first_name, self.last_name = first.strip(), last.strip()
            return
        words = text.split(" ")
        self.first_name, self.last_name = " ".join(words[:-1]), words[-1]

    def tidy(self) -> None:
        """Blanks trimmed and runs of blanks reduced, as a person would have typed it."""
        for name in (*MAX_LENGTHS, "country"):
            setattr(self, name, _BLANKS.sub(" ", getattr(self, name)).strip())
        self.notes = self.notes.strip()

    def check(self) -> RowProblem | None:
        """Why the row cannot be imported, or None."""
        if not self.kind:
            return RowProblem(self.row, N_("no name and no company"), line=self.line)
        for name, limit in MAX_LENGTHS.items():
            if len(getattr(self, name)) > limit:
                return RowProblem(
                    self.row,
                    N_("the {field} is longer than {limit} characters"),
                    line=self.line,
                    params={"field": name.replace("_", " "), "limit": limit},
                )
        for kind, value, _ in self.channels:
            if len(value) > MAX_CHANNEL_LENGTH:
                return RowProblem(
                    self.row,
                    N_("a {kind} is longer than {limit} characters"),
                    line=self.line,
                    params={"kind": kind, "limit": MAX_CHANNEL_LENGTH},
                )
        return None


def country_code(text: str) -> str | None:
    """ISO 3166 code of a country as address books write it; "" for none; None if unknown."""
    name = _BLANKS.sub(" ", text).strip().casefold()
    if not name:
        return ""
    if name in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[name]
    try:
        return str(pycountry.countries.lookup(name).alpha_2)
    except LookupError:
        return None
