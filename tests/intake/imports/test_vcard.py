"""vCard address books: 2.1 from old phones and Outlook, 3.0 from Apple and Google, 4.0."""

from __future__ import annotations

import pytest

from offhook.intake.imports import (
    ImportedAddress,
    ImportFileError,
    RowProblem,
    looks_like_vcard,
    open_vcard,
    vcard_records,
)

V30 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:Müller;Anna;;Frau;\r\n"
    "FN:Anna Müller\r\n"
    "ORG:Muster AG;Finanzen\r\n"
    "TITLE:CFO\r\n"
    "TEL;TYPE=WORK,VOICE:+41 44 668 18 12\r\n"
    "TEL;TYPE=CELL:079 412 33 18\r\n"
    "TEL;TYPE=WORK,FAX:044 668 18 99\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:anna.mueller@muster.example\r\n"
    "ADR;TYPE=HOME:;;Rosenweg 4;Zürich;;8004;Schweiz\r\n"
    "ADR;TYPE=WORK:;3. Stock;Bahnhofstrasse 12;Zürich;ZH;8001;Schweiz\r\n"
    "NOTE:Prefers calls in the morning\\, not after 5\\nAsk for Sandra if away.\r\n"
    " Folded on.\r\n"
    "END:VCARD\r\n"
)

V40 = (
    "BEGIN:VCARD\n"
    "VERSION:4.0\n"
    "KIND:org\n"
    "FN:Thames Advisory Ltd\n"
    "ORG:Thames Advisory Ltd\n"
    'TEL;VALUE=uri;TYPE="voice,work":tel:+44-20-7946-0000\n'
    "EMAIL:office@thames.example\n"
    "END:VCARD\n"
    "BEGIN:VCARD\n"
    "VERSION:4.0\n"
    "FN:Oliver Bennett\n"
    "TEL;VALUE=uri;TYPE=cell:tel:+44-7700-900123\n"
    "END:VCARD\n"
)

# vCard 2.1 as old phones and Outlook wrote it: bare types, quoted-printable with soft breaks.
V21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=F6rg\r\n"
    "ORG;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:B=C3=A4ckerei Frei GmbH\r\n"
    "TEL;CELL;PREF:+41 79 331 20 45\r\n"
    "TEL;WORK;VOICE:044 720 45 10\r\n"
    "ADR;WORK;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:;;Seestrasse 88=0D=0AHinterhaus;Thal=\r\n"
    "wil;;8800;Switzerland\r\n"
    "END:VCARD\r\n"
)


def _one(text: str) -> ImportedAddress:
    (record,) = vcard_records(text)
    assert isinstance(record, ImportedAddress)
    return record


def test_vcard_3() -> None:
    anna = _one(V30)
    assert (anna.salutation, anna.first_name, anna.last_name) == ("Frau", "Anna", "Müller")
    assert (anna.company_name, anna.position, anna.kind) == ("Muster AG", "CFO", "contact")
    assert anna.channels == [
        ("phone", "+41 44 668 18 12", "Work"),
        ("mobile", "079 412 33 18", ""),
        ("fax", "044 668 18 99", "Work"),
        ("email", "anna.mueller@muster.example", ""),
    ]
    # The work address, not the first one.
    assert (anna.street, anna.postcode, anna.city, anna.country) == (
        "Bahnhofstrasse 12, 3. Stock",
        "8001",
        "Zürich",
        "Schweiz",
    )
    assert anna.notes == (
        "Prefers calls in the morning, not after 5\nAsk for Sandra if away.Folded on."
    )


def test_vcard_4_companies_and_tel_uris() -> None:
    company, person = vcard_records(V40)
    assert isinstance(company, ImportedAddress) and isinstance(person, ImportedAddress)
    assert company.kind == "company" and company.company_name == "Thames Advisory Ltd"
    assert company.channels[0] == ("phone", "+44-20-7946-0000", "Work")
    assert (person.first_name, person.last_name, person.kind) == ("Oliver", "Bennett", "person")
    assert person.channels == [("mobile", "+44-7700-900123", "")]


def test_vcard_2_1_quoted_printable() -> None:
    joerg = _one(V21)
    assert (joerg.first_name, joerg.last_name, joerg.company_name) == (
        "Jörg",
        "Müller",
        "Bäckerei Frei GmbH",
    )
    assert joerg.channels == [
        ("mobile", "+41 79 331 20 45", ""),
        ("phone", "044 720 45 10", "Work"),
    ]
    assert (joerg.street, joerg.city) == ("Seestrasse 88, Hinterhaus", "Thalwil")


def test_apple_company_cards() -> None:
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nN:;;;;\nFN:Muster AG\nORG:Muster AG;\n"
        "X-ABShowAs:COMPANY\nTEL;type=MAIN:044 668 18 00\nEND:VCARD\n"
    )
    company = _one(text)
    assert company.kind == "company" and company.channels == [("phone", "044 668 18 00", "Main")]


def test_a_partly_broken_file_gives_the_good_cards_and_says_what_is_wrong() -> None:
    text = (
        V30
        + "BEGIN:VCARD\nVERSION:3.0\nFN:Cut Off\n"  # no END: the next BEGIN starts a new card
        + "BEGIN:VCARD\nVERSION:3.0\nTEL:044 111 22 33\nEND:VCARD\n"  # names nobody
        + "BEGIN:VCARD\nVERSION:3.0\nFN:Peter Keller\nthis is no property\nEND:VCARD\n"
        + "BEGIN:VCARD\nVERSION:3.0\nFN:Last One\n"  # the file ends
    )
    items = list(vcard_records(text))
    assert [type(i).__name__ for i in items] == [
        "ImportedAddress",
        "RowProblem",
        "ImportedAddress",
        "ImportedAddress",
        "RowProblem",
    ]
    cut, nobody, peter, end = items[1], items[2], items[3], items[4]
    assert isinstance(cut, RowProblem) and cut.row == 2 and "no END:VCARD" in cut.reason
    assert cut.line == 16
    assert isinstance(nobody, ImportedAddress) and nobody.check() is not None  # no name
    assert isinstance(peter, ImportedAddress) and peter.last_name == "Keller"
    assert peter.problems and peter.problems[0].severity == "warning"
    assert isinstance(end, RowProblem) and end.row == 5 and "ends in the middle" in end.reason


def test_files_and_detection() -> None:
    assert open_vcard(("\ufeff" + V30).encode()).cards == 1
    assert open_vcard(V30.encode("cp1252")).encoding == "Windows-1252"
    assert looks_like_vcard(b"BEGIN:VCARD\r\n") and looks_like_vcard(b"x", "Contacts.VCF")
    assert not looks_like_vcard(b"Name;Telefon\n", "list.csv")
    with pytest.raises(ImportFileError, match="no vCard"):
        open_vcard(b"Name;Telefon\n")
