"""CSV address books: the encoding and delimiter found out, the rows read into addresses.

Files come from Excel (";"-separated in German-speaking countries, Windows-1252, or UTF-8
with a BOM, or UTF-16 from "Unicode text"), Outlook, Google Contacts and hand-made lists. The
first row names the columns. A row that cannot be read is reported with its number and line;
the rows around it are still imported.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from offhook.intake.imports.fields import IGNORE
from offhook.intake.imports.records import ImportedAddress, RowProblem
from offhook.settings.language import N_, gettext

DELIMITERS = (";", ",", "\t", "|")
DELIMITER_NAMES = {
    ";": N_("semicolon"),
    ",": N_("comma"),
    "\t": N_("tab"),
    "|": N_("vertical bar"),
}
SNIFF_LINES = 50
# A column mapping is a form field per column; an address book has a few dozen columns.
MAX_COLUMNS = 500
NOT_FILE_ENCODINGS = {"punycode", "idna", "raw-unicode-escape", "unicode-escape"}
FIELD_LIMIT = 1_000_000  # a long note, not a runaway quote, should fit
csv.field_size_limit(FIELD_LIMIT)


class ImportFileError(ValueError):
    """The file cannot be read at all; the message says why, for the user: in English (str),
    or in the reader's language (`text()`). The message is marked N_ where it is written."""

    def __init__(self, message: str, **params: str | int) -> None:
        super().__init__(message.format(**params))
        self.message, self.params = message, params

    def text(self) -> str:
        return gettext(self.message).format(**self.params)


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A decoded CSV file: its text, how it was written, and its columns."""

    text: str
    encoding: str  # for the user: "UTF-8", "UTF-8 with BOM", "Windows-1252", "UTF-16"
    delimiter: str
    headers: list[str]

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    def rows(self) -> Iterator[tuple[int, int, list[str] | tuple[str, dict[str, str | int]]]]:
        """(data row number, line, values) for each row after the header; empty rows skipped.

        A row that cannot be read (a quote opened and not closed, or closed in the middle of a
        value) gives the reason instead of its values, and reading goes on with the line after
        the one the row began on: a stray quote costs its own row, not the rows after it.
        """
        lines = io.StringIO(self.text, newline="").readlines()
        start, number, header = 0, 0, True
        while start < len(lines):
            reader = csv.reader(
                itertools.islice(lines, start, None), delimiter=self.delimiter, strict=True
            )
            first = start + 1  # the line the next row begins on
            try:
                for values in reader:
                    if header:
                        header = False
                    else:
                        number += 1
                        if any(value.strip() for value in values):
                            yield number, first, values
                    first = start + reader.line_num + 1
                return
            except csv.Error as exc:
                if header:
                    header = False  # open_csv read the header leniently already
                else:
                    number += 1
                    yield number, first, _unreadable(exc)
                start = first

    def preview(self, count: int = 10) -> list[list[str]]:
        rows = []
        for _, _, values in self.rows():
            if isinstance(values, tuple):
                continue  # the import reports it with its row number
            rows.append((values + [""] * len(self.headers))[: len(self.headers)])
            if len(rows) == count:
                break
        return rows


def _unreadable(exc: csv.Error) -> tuple[str, dict[str, str | int]]:
    """Why a row cannot be read: a row problem's message and its parts."""
    text = str(exc)
    if "unexpected end of data" in text:
        return N_("a quote opened in this row is never closed; the row is left out"), {}
    if "expected after" in text:
        return N_(
            "a quote opened in this row closes in the middle of a value (perhaps a line "
            "further down); the row is left out"
        ), {}
    if "field larger than field limit" in text:
        return N_(
            "a value in this row is longer than {limit} characters: is a quote not "
            "closed? The row is left out"
        ), {"limit": FIELD_LIMIT}
    return N_("this row cannot be read ({problem}); the row is left out"), {"problem": text}


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file and the encoding it was in: byte order marks first, then UTF-8 if
    every byte fits, else Windows-1252 (what Excel writes on Western European Windows)."""
    if data.startswith(codecs.BOM_UTF8):
        # The encoding's name is for the user, translated where it is shown.
        text = data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
        return text, N_("UTF-8 with BOM")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        # Windows-1252 leaves five bytes undefined; they are control characters in Latin-1.
        return data.decode("cp1252", errors="replace"), "Windows-1252"


def _decode_as(data: bytes, encoding: str) -> str:
    """The text in the encoding the user named (they know better than the guess)."""
    try:
        codec = codecs.lookup(encoding)
    except LookupError as exc:
        raise ImportFileError(
            N_("{encoding!r} is not an encoding offhook knows"), encoding=encoding
        ) from exc
    # Codecs such as hex, rot13 or punycode transform data but are no way to write a file.
    if not getattr(codec, "_is_text_encoding", True) or codec.name in NOT_FILE_ENCODINGS:
        raise ImportFileError(
            N_("{encoding!r} is not an encoding text files are written in"), encoding=encoding
        )
    try:
        return data.decode(codec.name).removeprefix("\ufeff")
    except (UnicodeError, ValueError) as exc:
        raise ImportFileError(
            N_("the file cannot be read as {encoding}: {problem}"),
            encoding=encoding,
            problem=str(exc),
        ) from exc


def open_csv(data: bytes, delimiter: str | None = None, encoding: str | None = None) -> CsvFile:
    """Decode and sniff a CSV file (raises ImportFileError when it has no columns)."""
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n\x00'):
        raise ImportFileError(
            N_(
                "{delimiter!r} cannot separate the columns: the delimiter is one character "
                "other than a quote or a line break, such as ; or ,"
            ),
            delimiter=delimiter,
        )
    if encoding:
        text, name = _decode_as(data, encoding), encoding
    else:
        text, name = decode(data)
    if "\x00" in text[:4096]:
        raise ImportFileError(N_("this is not a text file (CSV): it contains binary data"))
    sample = text.splitlines()[:SNIFF_LINES]
    if not any(line.strip() for line in sample):
        raise ImportFileError(N_("the file is empty"))
    chosen = delimiter or sniff_delimiter(sample)
    try:
        headers = next(csv.reader(io.StringIO(text, newline=""), delimiter=chosen), [])
    except csv.Error as exc:
        raise ImportFileError(
            N_("the first row, which names the columns, cannot be read ({problem})"),
            problem=str(exc),
        ) from exc
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(
            N_(
                "the file has {count} columns; at most {limit} can be imported. Remove the "
                "columns you do not need, or check the delimiter"
            ),
            count=len(headers),
            limit=MAX_COLUMNS,
        )
    headers = [header.strip() or f"Column {index + 1}" for index, header in enumerate(headers)]
    return CsvFile(text, name, chosen, headers)


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the first lines into the same number of columns most often."""
    best, best_score = DELIMITERS[0], (-1, -1)
    for candidate in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=candidate) if row]
        except csv.Error:
            continue
        if not counts:
            continue
        columns, agreeing = Counter(counts).most_common(1)[0]
        score = (agreeing if columns > 1 else 0, columns)
        if score > best_score:
            best, best_score = candidate, score
    return best


def records(file: CsvFile, mapping: list[str]) -> Iterator[ImportedAddress | RowProblem]:
    """Each row as an address (or the problem that keeps it from being one)."""
    headers = file.headers
    for row, line, values in file.rows():
        if isinstance(values, tuple):
            yield RowProblem(row, values[0], line=line, params=values[1])
            continue
        extra = values[len(headers) :]
        if any(value.strip() for value in extra):
            yield RowProblem(
                row,
                N_(
                    "{count} values for {columns} columns: a value may contain the "
                    "delimiter ({delimiter}) without quotes"
                ),
                line=line,
                params={
                    "count": len(values),
                    "columns": len(headers),
                    "delimiter": file.delimiter_name,
                },
            )
            continue
        yield _record(row, line, headers, mapping, values)


def _record(
    row: int, line: int, headers: list[str], mapping: list[str], values: list[str]
) -> ImportedAddress:
    record = ImportedAddress(row=row, line=line)
    notes: list[str] = []
    several_notes = mapping.count("notes") > 1
    for header, name, value in zip(headers, mapping, values, strict=False):
        value = value.strip()
        if not value or name == IGNORE:
            continue
        if name in ("phone", "mobile", "fax", "email"):
            record.add_channel(name, value, header if header.casefold() != name else "")
        elif name == "name":
            record.set_full_name(value)
        elif name == "place":
            postcode, _, city = value.partition(" ")
            if any(c.isdigit() for c in postcode):
                record.postcode, record.city = postcode, city
            else:
                record.city = value
        elif name == "notes":
            notes.append(f"{header}: {value}" if several_notes else value)
        else:
            previous = getattr(record, name)
            setattr(record, name, f"{previous} {value}" if previous else value)
    record.notes = "\n".join(notes)
    return record
