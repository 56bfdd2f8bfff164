"""Fuzzing the address-book parsers (CSV and vCard) with hypothesis: whatever bytes arrive, in
whatever encoding, with whatever delimiters and quotes, the parsers answer with the errors they
document (`ImportFileError` for a file that cannot be read at all, a `RowProblem` for a row or
card) and never crash.

Bounded for CI (a few seconds per test). For a release check, run many more examples:

    OFFHOOK_FUZZ_EXAMPLES=20000 .venv/bin/pytest tests/intake/imports/test_fuzz.py

Hypothesis keeps failing examples in `.hypothesis/` and replays them first on the next run.
"""

from __future__ import annotations

import codecs
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from offhook.intake.imports.csvfile import ImportFileError, open_csv
from offhook.intake.imports.csvfile import records as csv_records
from offhook.intake.imports.fields import parse_mapping, suggest_mapping
from offhook.intake.imports.records import ImportedAddress, RowProblem
from offhook.intake.imports.vcard import looks_like_vcard, open_vcard
from offhook.intake.imports.vcard import records as vcard_records

EXAMPLES = int(os.environ.get("OFFHOOK_FUZZ_EXAMPLES", "150"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,  # shared CI cores: a slow example is no failure, a crash is
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1", "utf-32"]
# Characters that matter to CSV and vCard, and some that tend to break text handling.
TRICKY = ";,\t|\"'\r\n\\:=. \x00\x0b\x1c\u2028\u0085\ufeffäé€😀"
field_text = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(), max_size=30)


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """A CSV-like file: rows of fields, some quoted, joined by a delimiter, then encoded."""
    delimiter = draw(st.sampled_from([";", ",", "\t", "|", ":", " "]))
    rows = draw(st.lists(st.lists(field_text, max_size=8), max_size=12))
    lines = []
    for row in rows:
        quoted = [
            f'"{v}"' if draw(st.booleans()) else v
            for v in row  # quotes left unescaped on purpose: broken files are the point
        ]
        lines.append(delimiter.join(quoted))
        if draw(st.booleans()):
            lines.append("")  # empty lines between rows
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines)
    encoding = draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, errors="replace")


any_bytes = st.binary(max_size=2000)
csv_input = csv_bytes() | any_bytes | any_bytes.map(lambda b: codecs.BOM_UTF8 + b)
delimiters = st.none() | st.sampled_from([";", ",", "\t", "|", "ab", "", '"', "\n", "\x00", " "])
encodings = st.none() | st.sampled_from(
    [*ENCODINGS, "punycode", "idna", "rot13", "base64", "no-such-encoding", "utf-7", "ascii", ""]
)


def consume(items: object) -> None:
    for item in items:  # type: ignore[attr-defined]
        assert isinstance(item, ImportedAddress | RowProblem)


@fuzz
@given(data=csv_input, delimiter=delimiters, encoding=encodings)
# What the hardening review found, and what hypothesis found since:
@example(data=b"Name;Tel\nAnna;044\n", delimiter=None, encoding="punycode")
@example(data=b"Name;Tel\nAnna;044\n", delimiter="ab", encoding=None)
@example(data=b'"' + b"a" * 1_000_001, delimiter=None, encoding=None)  # over the field limit
@example(data=b"Name;Tel\n" + b"x" * 5000 + b"\x00;1\n", delimiter=None, encoding=None)
def test_csv_files_never_crash_the_parser(
    data: bytes, delimiter: str | None, encoding: str | None
) -> None:
    try:
        book = open_csv(data, delimiter=delimiter, encoding=encoding)
    except ImportFileError as exc:
        assert str(exc)  # a message for the user
        return
    book.preview()
    consume(csv_records(book, suggest_mapping(book.headers)))


@fuzz
@given(data=csv_bytes(), mapping=st.text(max_size=80))
def test_any_column_mapping_is_answered_or_refused(data: bytes, mapping: str) -> None:
    try:
        book = open_csv(data)
    except ImportFileError:
        return
    try:
        chosen = parse_mapping(mapping, book.headers)
    except ValueError as exc:  # the documented refusal of a mapping, with its reason
        assert str(exc)
        return
    consume(csv_records(book, chosen))


PROPERTIES = [
    "BEGIN:VCARD",
    "END:VCARD",
    "VERSION:3.0",
    "N:",
    "FN:",
    "ORG:",
    "TITLE:",
    "TEL;TYPE=CELL:",
    'TEL;type="work,voice":',
    "TEL:tel:",
    "EMAIL:",
    "ADR;TYPE=WORK:",
    "NOTE:",
    "KIND:",
    "X-ABShowAs:",
    "item1.TEL:",
    "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=",
    "N;QUOTED-PRINTABLE:",
    "FN;CHARSET=no-such:",
    "AGENT:BEGIN:VCARD",
    " ",
    "\t",
]


@st.composite
def vcard_bytes(draw: st.DrawFn) -> bytes:
    """Lines built from vCard properties with arbitrary values, folds and soft breaks."""
    lines = []
    for _ in range(draw(st.integers(0, 30))):
        head = draw(st.sampled_from(PROPERTIES) | st.text(max_size=12))
        value = draw(field_text)
        if draw(st.booleans()):
            value += "="  # a quoted-printable soft break
        lines.append(head + value)
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    text = "\n".join(lines).replace("\n", newline)
    return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


@fuzz
@given(data=vcard_bytes() | any_bytes)
def test_vcard_files_never_crash_the_parser(data: bytes) -> None:
    looks_like_vcard(data)
    try:
        book = open_vcard(data)
    except ImportFileError as exc:
        assert str(exc)
        return
    consume(vcard_records(book.text))
