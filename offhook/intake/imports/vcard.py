"""vCard address books (2.1, 3.0 and 4.0): Outlook, Apple Contacts, Google, phones.

Read: FN and N (names), ORG (company), TITLE (position), TEL with its types (cell → mobile,
fax → fax, else phone; work/home as label), EMAIL, ADR, NOTE, and KIND:org or Apple's
X-ABShowAs:COMPANY for companies. Folded lines are unfolded (RFC 6350 3.2), and values in
quoted-printable (vCard 2.1 and some 3.0 exports) are decoded with their CHARSET. A card that
is cut off or names nobody is reported with its number and line; the others are imported.
"""

from __future__ import annotations

import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from offhook.intake.imports.csvfile import ImportFileError, decode
from offhook.intake.imports.records import ImportedAddress, RowProblem
from offhook.settings.language import N_

_ESCAPES = re.compile(r"\\(.)", re.DOTALL)
_UNESCAPED_SEMICOLON = re.compile(r"(?<!\\);")
_TEL_URI = re.compile(r"(?i)^tel:")


@dataclass(slots=True)
class Property:
    name: str
    params: dict[str, list[str]]
    value: str  # raw: still escaped, not yet decoded
    line: int

    @property
    def types(self) -> set[str]:
        return {t.casefold() for t in self.params.get("TYPE", [])}

    def text(self) -> str:
        return _unescape(self.decoded())

    def parts(self) -> list[str]:
        """The components of a structured value (N, ADR, ORG), unescaped."""
        return [_unescape(p) for p in _UNESCAPED_SEMICOLON.split(self.decoded())]

    def decoded(self) -> str:
        encoding = {e.casefold() for e in self.params.get("ENCODING", [])}
        if "quoted-printable" not in encoding:
            return self.value
        raw = quopri.decodestring(self.value.encode("latin-1", errors="replace"))
        charset = (self.params.get("CHARSET") or ["utf-8"])[0]
        try:
            text = raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            text = raw.decode("cp1252", errors="replace")
        return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(slots=True)
class _Card:
    number: int
    line: int
    properties: list[Property] = field(default_factory=list)


def records(text: str) -> Iterator[ImportedAddress | RowProblem]:
    """Each card as an address (or the problem that keeps it from being one)."""
    card: _Card | None = None
    count = 0
    depth = 0
    for line, content in _logical_lines(text):
        prop = _property(content, line)
        if prop is None:
            if card is not None and content.strip():
                card.properties.append(Property("X-UNREADABLE", {}, content, line))
            continue
        if prop.name == "BEGIN" and prop.value.strip().upper() == "VCARD":
            if card is not None and depth == 0:
                yield RowProblem(card.number, N_("the card has no END:VCARD"), line=card.line)
                card = None
            if card is None:
                count += 1
                card = _Card(count, line)
            else:
                depth += 1  # a card inside a card (AGENT): skipped
            continue
        if prop.name == "END" and prop.value.strip().upper() == "VCARD":
            if depth:
                depth -= 1
            elif card is not None:
                yield _address(card)
                card = None
            continue
        if card is not None and not depth:
            card.properties.append(prop)
    if card is not None:
        yield RowProblem(
            card.number, N_("the file ends in the middle of this card"), line=card.line
        )


def count_cards(text: str) -> int:
    return sum(1 for _, content in _logical_lines(text) if content.strip().upper() == "BEGIN:VCARD")


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, unfolded content) of each content line."""
    current: list[str] = []
    start = 0
    soft_break = False
    for number, line in enumerate(text.splitlines(), start=1):
        if current and (soft_break or line[:1] in (" ", "\t")):
            # Quoted-printable soft breaks keep the next line whole; folding drops one blank.
            current.append(line if soft_break else line[1:])
        else:
            if current:
                yield start, "".join(current)
            current, start = [line], number
        soft_break = _quoted_printable(current[0]) and line.endswith("=")
        if soft_break:
            current[-1] = current[-1][:-1]
    if current:
        yield start, "".join(current)


def _quoted_printable(content: str) -> bool:
    head = content.split(":", 1)[0].upper()
    return "QUOTED-PRINTABLE" in head


def _property(content: str, line: int) -> Property | None:
    """`[group.]NAME;PARAM=a,b;BARE:value`, or None for a line that is no property."""
    colon = _split_outside_quotes(content, ":", 1)
    if len(colon) < 2:
        return None
    head, value = colon
    pieces = _split_outside_quotes(head, ";")
    name = pieces[0].rsplit(".", 1)[-1].strip().upper()
    if not name or not re.fullmatch(r"[A-Z0-9-]+", name):
        return None
    params: dict[str, list[str]] = {}
    for piece in pieces[1:]:
        key, sep, raw = piece.partition("=")
        if not sep:  # vCard 2.1: a bare type ("CELL") or encoding ("QUOTED-PRINTABLE")
            key, raw = _bare_param(key), key
        # TYPE=work,voice and TYPE="work,voice" are the same list.
        values = [v.strip().strip('"') for v in raw.replace('"', "").split(",")]
        params.setdefault(key.strip().upper(), []).extend(v for v in values if v)
    return Property(name, params, value, line)


def _bare_param(word: str) -> str:
    upper = word.strip().upper()
    if upper in ("QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B"):
        return "ENCODING"
    if upper.startswith("CHARSET"):
        return "CHARSET"
    return "TYPE"


def _split_outside_quotes(text: str, separator: str, limit: int = -1) -> list[str]:
    parts: list[str] = []
    quoted = False
    start = 0
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted and (limit < 0 or len(parts) < limit):
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _unescape(value: str) -> str:
    return _ESCAPES.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value).strip()


def _address(card: _Card) -> ImportedAddress | RowProblem:
    record = ImportedAddress(row=card.number, line=card.line)
    full_name = ""
    addresses: list[Property] = []
    for prop in card.properties:
        name = prop.name
        if name == "N":
            parts = prop.parts() + [""] * 5
            record.last_name, record.first_name = parts[0], " ".join(p for p in parts[1:3] if p)
            record.salutation = parts[3]
        elif name == "FN":
            full_name = prop.text()
        elif name == "ORG":
            record.company_name = prop.parts()[0]
        elif name == "TITLE":
            record.position = prop.text()
        elif name == "TEL":
            _telephone(record, prop)
        elif name == "EMAIL":
            record.add_channel("email", prop.text(), _label(prop.types))
        elif name == "ADR":
            addresses.append(prop)
        elif name == "NOTE":
            record.notes = "\n".join(p for p in (record.notes, prop.text()) if p)
        elif name == "KIND" or name == "X-ABSHOWAS":
            record.is_company = prop.text().casefold() in ("org", "organization", "company")
        elif name == "X-UNREADABLE":
            record.problems.append(
                RowProblem(
                    card.number,
                    N_("a line that is no vCard property was left out"),
                    severity="warning",
                    line=prop.line,
                )
            )
    named = record.first_name or record.last_name
    if not named and full_name and full_name != record.company_name:
        record.set_full_name(full_name)
    if addresses:
        work = [p for p in addresses if "work" in p.types]
        _postal(record, (work or addresses)[0])
    return record


def _telephone(record: ImportedAddress, prop: Property) -> None:
    types = prop.types
    value = _TEL_URI.sub("", prop.text())
    if "fax" in types:
        kind = "fax"
    elif types & {"cell", "mobile", "iphone"}:
        kind = "mobile"
    else:
        kind = "phone"
    record.add_channel(kind, value, _label(types))


def _label(types: set[str]) -> str:
    for known, label in (("work", "Work"), ("home", "Home"), ("main", "Main")):
        if known in types:
            return label
    return ""


def _postal(record: ImportedAddress, prop: Property) -> None:
    parts = prop.parts() + [""] * 7
    _pobox, extended, street, city, _region, postcode, country = parts[:7]
    record.street = ", ".join(p for p in (street.replace("\n", ", "), extended) if p)
    record.city, record.postcode, record.country = city, postcode, country


@dataclass(frozen=True, slots=True)
class VCardFile:
    """A decoded vCard file."""

    text: str
    encoding: str
    cards: int


def open_vcard(data: bytes) -> VCardFile:
    """Decode a vCard file (raises ImportFileError when it holds no card)."""
    text, encoding = decode(data)
    cards = count_cards(text)
    if not cards:
        raise ImportFileError(N_("the file holds no vCard (no line BEGIN:VCARD)"))
    return VCardFile(text, encoding, cards)


def looks_like_vcard(data: bytes, filename: str = "") -> bool:
    if filename.casefold().endswith((".vcf", ".vcard")):
        return True
    head = decode(data[:4096])[0].lstrip("\ufeff \t\r\n")
    return head[:11].upper() == "BEGIN:VCARD"
