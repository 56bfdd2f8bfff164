"""Importing address books: CSV files (with a column mapping) and vCards (2.1, 3.0, 4.0).

    book = open_csv(data)                              # encoding and delimiter found out
    mapping = suggest_mapping(book.headers)            # or parse_mapping("Firma=company_name")
    report = import_addresses(store, csv_records(book, mapping))
    report = import_addresses(store, vcard_records(open_vcard(data).text))

Numbers are normalized on the way in; rows that cannot be imported, duplicates and numbers
that cannot be normalized are in the report with their row (or card) number.
"""

from offhook.intake.imports.addresses import ImportReport, import_addresses
from offhook.intake.imports.csvfile import CsvFile, ImportFileError, open_csv
from offhook.intake.imports.csvfile import records as csv_records
from offhook.intake.imports.fields import FIELDS, parse_mapping, suggest_mapping
from offhook.intake.imports.records import ImportedAddress, RowProblem
from offhook.intake.imports.vcard import VCardFile, looks_like_vcard, open_vcard
from offhook.intake.imports.vcard import records as vcard_records

__all__ = [
    "FIELDS",
    "CsvFile",
    "ImportFileError",
    "ImportReport",
    "ImportedAddress",
    "RowProblem",
    "VCardFile",
    "csv_records",
    "import_addresses",
    "looks_like_vcard",
    "open_csv",
    "open_vcard",
    "parse_mapping",
    "suggest_mapping",
    "vcard_records",
]
