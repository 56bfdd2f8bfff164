"""CSV address books as Excel, Outlook and people write them."""

from __future__ import annotations

import codecs

import pytest

from offhook.intake.imports import (
    ImportedAddress,
    ImportFileError,
    RowProblem,
    csv_records,
    open_csv,
    parse_mapping,
    suggest_mapping,
)

EXCEL = (
    "Anrede|Vorname|Nachname|Firma|Strasse|PLZ|Ort|Land|Telefon|Mobil|E-Mail\r\n"
    "Frau|Anna|Müller|Muster AG|Bahnhofstrasse 12|8001|Zürich|Schweiz|044 668 18 12|"
    "079 412 33 18|anna.mueller@muster.example\r\n"
    'Herr|Jörg|Weiß|"Bäckerei Frei; Filiale Nord"|Seestrasse 88|8800|Thalwil|CH|||\r\n'
)
EXCEL_DE = EXCEL.replace("|", ";")


def _records(text: str, mapping: list[str] | None = None) -> list[ImportedAddress | RowProblem]:
    book = open_csv(text.encode())
    return list(csv_records(book, mapping or suggest_mapping(book.headers)))


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF8 + EXCEL_DE.encode("utf-8"), "UTF-8 with BOM"),
        (EXCEL_DE.encode("utf-8"), "UTF-8"),
        (EXCEL_DE.encode("cp1252"), "Windows-1252"),
        (codecs.BOM_UTF16_LE + EXCEL.replace("|", "\t").encode("utf-16-le"), "UTF-16"),
    ],
)
def test_encodings_and_delimiters_are_found_out(data: bytes, encoding: str) -> None:
    book = open_csv(data)
    assert book.encoding == encoding
    assert book.delimiter in (";", "\t")
    assert book.headers[:3] == ["Anrede", "Vorname", "Nachname"]
    anna, joerg = csv_records(book, suggest_mapping(book.headers))
    assert isinstance(anna, ImportedAddress) and isinstance(joerg, ImportedAddress)
    assert (anna.first_name, anna.last_name, anna.company_name, anna.city) == (
        "Anna",
        "Müller",
        "Muster AG",
        "Zürich",
    )
    assert anna.kind == "contact" and anna.salutation == "Frau" and anna.country == "Schweiz"
    assert [(k, v) for k, v, _ in anna.channels] == [
        ("phone", "044 668 18 12"),
        ("mobile", "079 412 33 18"),
        ("email", "anna.mueller@muster.example"),
    ]
    assert (joerg.last_name, joerg.company_name) == ("Weiß", "Bäckerei Frei; Filiale Nord")


def test_comma_separated_outlook_export() -> None:
    text = (
        "First Name,Last Name,Company,Job Title,Business Phone,Mobile Phone,Business Fax,"
        "E-mail Address,Business Street,Business City,Business Postal Code,"
        "Business Country/Region\n"
        'Oliver,Bennett,Thames Advisory Ltd,Partner,+44 20 7946 0958,"+44 7700 900123",,'
        "o.bennett@thames.example,40 Bank Street,London,E14 5NR,United Kingdom\n"
    )
    book = open_csv(text.encode())
    assert book.delimiter == ","
    assert suggest_mapping(book.headers) == [
        "first_name",
        "last_name",
        "company_name",
        "position",
        "phone",
        "mobile",
        "fax",
        "email",
        "street",
        "city",
        "postcode",
        "country",
    ]
    (oliver,) = csv_records(book, suggest_mapping(book.headers))
    assert isinstance(oliver, ImportedAddress)
    assert oliver.position == "Partner" and oliver.postcode == "E14 5NR"
    assert [label for _, _, label in oliver.channels] == [
        "Business Phone",
        "Mobile Phone",
        "E-mail Address",
    ]


def test_full_names_and_places_in_one_column() -> None:
    text = "Name;PLZ Ort;Telefon\nMüller, Anna;8001 Zürich;044 668 18 12\nPeter Keller;Bern;\n"
    book = open_csv(text.encode())
    mapping = parse_mapping("Name=name, PLZ Ort=place, 3=phone", book.headers)
    assert mapping == ["name", "place", "phone"]
    anna, peter = csv_records(book, mapping)
    assert isinstance(anna, ImportedAddress) and isinstance(peter, ImportedAddress)
    assert (anna.first_name, anna.last_name, anna.postcode, anna.city) == (
        "Anna",
        "Müller",
        "8001",
        "Zürich",
    )
    assert (peter.first_name, peter.last_name, peter.postcode, peter.city) == (
        "Peter",
        "Keller",
        "",
        "Bern",
    )


def test_a_mapping_names_the_columns_to_import() -> None:
    headers = ["Name", "Firma", "Telefon, privat", "Notiz"]
    assert parse_mapping("Name=last_name,Firma=company_name,Telefon, privat=phone", headers) == [
        "last_name",
        "company_name",
        "phone",
        "",
    ]
    with pytest.raises(ValueError, match="no column 'Fax'"):
        parse_mapping("Fax=fax", headers)
    with pytest.raises(ValueError, match="'telefon' is not a field"):
        parse_mapping("Telefon, privat=telefon", headers)
    with pytest.raises(ValueError, match="column=field"):
        parse_mapping("Name", headers)


def test_broken_rows_are_reported_with_row_and_line() -> None:
    text = (
        "Vorname;Nachname;Telefon\n"
        "Anna;Müller;044 668 18 12\n"
        "Peter;Keller;044 668 18 10;zu viel;noch mehr\n"
        "\n"
        'Sandra;"Vogel\nvon Allmen";044 668 18 27\n'
        "Urs;Frei;\n"
    )
    items = _records(text)
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["ImportedAddress", "RowProblem", "ImportedAddress", "ImportedAddress"]
    problem = items[1]
    assert isinstance(problem, RowProblem)
    assert (problem.row, problem.line) == (2, 3)
    assert "5 values for 3 columns" in problem.reason
    sandra, urs = items[2], items[3]
    assert isinstance(sandra, ImportedAddress) and isinstance(urs, ImportedAddress)
    assert sandra.last_name == "Vogel\nvon Allmen" and (sandra.row, sandra.line) == (4, 5)
    assert (urs.row, urs.line) == (5, 7)


def test_an_unclosed_quote_is_reported_on_its_row() -> None:
    rows = "".join(f"P{n};Name{n}\n" for n in range(5))
    text = "Vorname;Nachname\n" + rows + 'Anna;"Müller\n' + "x" * 1_100_000
    items = _records(text)
    assert len(items) == 7
    quote, runaway = items[-2:]
    assert isinstance(quote, RowProblem) and (quote.row, quote.line) == (6, 7)
    assert "quote" in quote.reason
    assert isinstance(runaway, RowProblem) and "longer than 1,000,000" in runaway.reason


def test_an_unclosed_quote_does_not_swallow_the_rows_after_it() -> None:
    """Issue 8: the quote merged the following rows into one field, row 2's number was lost
    and the report said every row was imported."""
    text = 'Name;Telefon\nAnna;044 111 11 11\nBen;"044 222 22 22\nCara;044 333 33 33\n'
    text += 'Dora;"044 444 44 44"\nEmil;044 555 55 55\n'
    items = _records(text)
    problems = [item for item in items if isinstance(item, RowProblem)]
    assert [(p.row, p.line) for p in problems] == [(2, 3)]
    assert "quote" in problems[0].reason
    names = [item.last_name for item in items if not isinstance(item, RowProblem)]
    assert names == ["Anna", "Cara", "Dora", "Emil"]


def test_unsuitable_encodings_delimiters_and_widths_are_clear_errors() -> None:
    data = b"Name;Telefon\nAnna;044\n"
    for encoding in ("punycode", "rot13", "hex", "no-such-thing", "idna"):
        with pytest.raises(ImportFileError, match="encoding"):
            open_csv(data, encoding=encoding)
    for delimiter in ("ab", '"', "\n", ";;"):
        with pytest.raises(ImportFileError, match="delimiter is one character"):
            open_csv(data, delimiter=delimiter)
    wide = ";".join(f"c{n}" for n in range(20_000)) + "\n" + ";" * 19_999 + "\n"
    with pytest.raises(ImportFileError, match="20000 columns; at most 500"):
        open_csv(wide.encode())


def test_files_that_are_no_csv() -> None:
    with pytest.raises(ImportFileError, match="empty"):
        open_csv(b"\n\n")
    with pytest.raises(ImportFileError, match="binary"):
        open_csv(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(ImportFileError, match="cannot be read as utf-8"):
        open_csv("Name\nMüller\n".encode("cp1252"), encoding="utf-8")
