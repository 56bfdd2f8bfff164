"""Importing into the store: normalized numbers, companies once, duplicates, broken rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from offhook.directory.lookup import exact_matches
from offhook.intake.imports import (
    ImportedAddress,
    RowProblem,
    csv_records,
    import_addresses,
    open_csv,
    open_vcard,
    suggest_mapping,
    vcard_records,
)
from offhook.intake.imports import addresses as writer
from offhook.settings import language
from offhook.store import Store
from offhook.store.models import Address, Channel
from tests import factories

CSV = (
    "Anrede;Vorname;Nachname;Firma;PLZ;Ort;Land;Telefon;Mobil;E-Mail\n"
    "Frau;Anna;Müller;Muster AG;8001;Zürich;Schweiz;044 668 18 12;079 412 33 18;"
    "anna@muster.example\n"
    "Herr;Peter;Keller;Muster AG;8001;Zürich;CH;+41 (0)44 668 18 10;;\n"
    ";;;;;;;;;\n"
    ";;;Bäckerei Frei GmbH;8800;Thalwil;Schweiz;+41 44 720 45 10;;\n"
    "Frau;Monika;Steiner;;8004;Zürich;Atlantis;12345;;\n"
    ";;;;8004;Zürich;;044 999 99 99;;\n"
    "Herr;Felix;Schulz;;40212;Düsseldorf;Deutschland;0049 211 868 20;;\n"
)


def _import(store: Store, text: str = CSV, **options: Any) -> Any:
    book = open_csv(text.encode("cp1252"))
    return import_addresses(store, csv_records(book, suggest_mapping(book.headers)), **options)


def _addresses(store: Store) -> dict[str, Address]:
    with store.session() as session:
        rows = session.scalars(select(Address).order_by(Address.id))
        found = {}
        for address in rows:
            address.channels  # noqa: B018 - loaded for use after the session
            found[address.last_name or address.company_name] = address
        return found


def test_a_csv_file_becomes_addresses_with_normalized_numbers(store: Store) -> None:
    report = _import(store)
    assert (report.rows, report.created, report.companies_created, report.failed) == (6, 5, 1, 1)
    found = _addresses(store)
    anna, peter, frei = found["Müller"], found["Keller"], found["Bäckerei Frei GmbH"]
    muster = found["Muster AG"]
    assert anna.kind == peter.kind == "contact" and anna.company_id == peter.company_id == muster.id
    assert (muster.kind, frei.kind, found["Schulz"].kind) == ("company", "company", "person")
    assert (anna.country, found["Schulz"].country, found["Steiner"].country) == ("CH", "DE", "")
    phone = anna.channels[0]
    assert (phone.value, phone.e164, phone.number_kind) == (
        "044 668 18 12",
        "+41446681812",
        "external",
    )
    assert phone.normalized_with is not None
    with store.session() as session:
        assert [m.address_id for m in exact_matches(session, "+41446681810")] == [peter.id]
        assert [m.address_id for m in exact_matches(session, "+4921186820")] == [found["Schulz"].id]

    # The report: what was not imported, and what was imported with a problem.
    reasons = [(p.row, p.severity, p.reason) for p in report.problems]
    assert reasons[0] == (5, "warning", "the country 'Atlantis' is not known; left empty")
    assert reasons[1][:2] == (5, "warning") and "'12345' could not be normalized" in reasons[1][2]
    assert reasons[2] == (6, "error", "no name and no company")
    assert report.warnings == 2
    # The import page shows them in the reader's language, the number's problem too.
    with language.using("de-CH"):
        german = [p.text() for p in report.problems]
    assert german[0] == "das Land 'Atlantis' ist unbekannt; leer gelassen"
    assert german[1].startswith("die Nummer '12345' (Telefon) kann nicht normalisiert werden (zu ")
    assert "Nummer (Schweiz)" in german[1] and "Swiss" not in german[1]
    assert german[2] == "kein Name und keine Firma"
    assert [p.text() for p in report.problems] == [p.reason for p in report.problems]


def test_running_an_import_again_duplicates_nothing(store: Store) -> None:
    _import(store)
    with store.session() as session:
        before = session.scalar(select(func.count()).select_from(Address))
    again = _import(store)
    assert (again.created, again.companies_created, again.duplicates) == (0, 0, 5)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Address)) == before
    duplicate = next(p for p in again.problems if p.severity == "duplicate")
    assert duplicate.address_id is not None and "already in the CRM" in duplicate.reason


def test_contacts_join_an_existing_company_by_its_exact_name(store: Store) -> None:
    existing = factories.address(store, kind="company", company="Muster AG", numbers=())
    report = _import(store)
    assert report.companies_created == 0
    assert _addresses(store)["Müller"].company_id == existing.id


def test_the_same_person_twice_in_one_file(store: Store) -> None:
    text = (
        "Vorname;Nachname;Telefon\n"
        "Anna;Müller;044 668 18 12\n"
        "Anna;Müller;+41 44 668 18 12\n"  # the same
        "Anna;Müller;079 999 99 99\n"  # another Anna Müller
    )
    report = _import(store, text)
    assert (report.created, report.duplicates) == (2, 1)
    assert report.problems[0].row == 2 and "earlier in this file" in report.problems[0].reason


def test_a_dry_run_writes_nothing(store: Store) -> None:
    report = _import(store, dry_run=True)
    assert report.dry_run and report.created == 5
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Address)) == 0


def test_a_row_that_cannot_be_saved_costs_only_itself(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer._save

    def spoiled(session: Any, record: ImportedAddress, context: Any) -> Any:
        if record.last_name == "Keller":
            raise RuntimeError("disk full")
        return real(session, record, context)

    monkeypatch.setattr(writer, "_save", spoiled)
    report = _import(store, batch_size=50)
    assert report.created == 4
    assert (2, "it could not be saved") in {(p.row, p.reason) for p in report.problems}
    assert "Keller" not in _addresses(store) and "Müller" in _addresses(store)


def test_a_vcard_file(store: Store) -> None:
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nN:Müller;Anna;;;\nORG:Muster AG\n"
        "TEL;TYPE=WORK:044 668 18 12\nEMAIL:anna@muster.example\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nTEL:1\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Cut Off\n"
    )
    book = open_vcard(text.encode())
    report = import_addresses(store, vcard_records(book.text))
    assert (report.rows, report.created, report.companies_created, report.failed) == (3, 1, 1, 2)
    assert [(p.row, p.severity) for p in report.problems] == [(2, "error"), (3, "error")]
    with store.session() as session:
        channel = session.scalar(select(Channel).where(Channel.kind == "phone"))
        assert channel is not None and channel.e164 == "+41446681812" and channel.label == "Work"


def test_problems_from_reading_are_reported_in_row_order(store: Store) -> None:
    items: list[ImportedAddress | RowProblem] = [
        RowProblem(3, "unreadable"),
        ImportedAddress(row=1, last_name="A"),
        ImportedAddress(row=2),
    ]
    report = import_addresses(store, items)
    assert [p.row for p in report.problems] == [2, 3]


def test_numbers_written_the_local_way_abroad(store: Store) -> None:
    text = (
        "Vorname;Nachname;Firma;Land;Telefon\n"
        "Klaus;Schneider;Schneider GmbH;Deutschland;089 / 3816 - 214\n"
        "Anna;Müller;;Schweiz;044 668 18 12\n"
    )
    report = _import(store, text)
    assert report.warnings == 0
    with store.session() as session:
        values = dict(session.execute(select(Channel.value, Channel.e164)).all())
    assert values == {"089 / 3816 - 214": "+49893816214", "044 668 18 12": "+41446681812"}
