"""`offhook demo-data` (a synthetic CRM of any size) and `offhook import` (real address books)."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from offhook.cli.common import err, fail, open_store, out
from offhook.intake.imports import (
    FIELDS,
    ImportFileError,
    csv_records,
    import_addresses,
    open_csv,
    open_vcard,
    parse_mapping,
    suggest_mapping,
    vcard_records,
)
from offhook.intake.synthetic import create_synthetic_crm
from offhook.intake.synthetic_calls import create_synthetic_calls
from offhook.settings.language import N_, _, ngettext, number_text

DEMO_DATA_HELP = N_(
    "Add a synthetic CRM: companies with switchboard and direct numbers, contact persons, private"
    " persons, mobiles and faxes in several countries, numbers typed every which way.\n"
    "\n"
    "For benchmarks and load tests: it adds to the database in OFFHOOK_DATABASE_URL, fast (a "
    "million addresses take minutes). Everything is made up."
)


def demo_data(
    addresses: Annotated[int, typer.Option(help=N_("How many addresses to add."), min=1)] = 1000,
    seed: Annotated[int, typer.Option(help=N_("The same seed gives the same data."))] = 1,
    workers: Annotated[
        int | None,
        typer.Option(
            help=N_("Worker processes for normalizing (default: one per core when many)."), min=0
        ),
    ] = None,
    call_users: Annotated[
        int,
        typer.Option(
            help=N_(
                "Also add this many users, each with a line and a year of calls with these "
                "addresses (about 20 a working day; 200 users make about a million calls)."
            ),
            min=0,
        ),
    ] = 0,
    call_days: Annotated[
        int, typer.Option(help=N_("Days of calls, up to yesterday."), min=1)
    ] = 365,
) -> None:
    store = open_store(create=True)
    started = time.monotonic()
    columns = (
        TextColumn("Adding addresses"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("addresses", total=addresses)
        summary = create_synthetic_crm(
            store,
            addresses,
            seed=seed,
            workers=workers,
            on_progress=lambda done: bar.advance(task, done),
        )
    seconds = time.monotonic() - started
    out.print(
        f"Added {summary.addresses:,} addresses with {summary.numbers:,} phone numbers "
        f"({summary.channels:,} channels with e-mail addresses) in {seconds:.1f} s."
    )
    if call_users:
        started = time.monotonic()
        with Progress(
            TextColumn("Adding calls"), BarColumn(), MofNCompleteColumn(), console=err
        ) as bar:
            task = bar.add_task("days", total=call_days)
            calls = create_synthetic_calls(
                store,
                call_users,
                days=call_days,
                seed=seed,
                on_progress=lambda days: bar.advance(task, days),
            )
        out.print(
            f"Added {calls.users} users with {calls.calls:,} calls, {calls.services:,} services "
            f"made of them and {calls.not_billable:,} marked not billable in "
            f"{time.monotonic() - started:.1f} s. The users cannot log in (no known password)."
        )
    store.dispose()


import_app = typer.Typer(
    help=N_("Import address books: CSV files and vCards. Numbers are normalized on the way in."),
    no_args_is_help=True,
)
SHOWN_PROBLEMS = 30
# The options both imports take.
DryRun = Annotated[bool, typer.Option("--dry-run", help=N_("Check everything, import nothing."))]
ProblemsFile = Annotated[
    Path | None, typer.Option(help=N_("Write every problem to this CSV file."))
]


@import_app.command(
    "csv",
    help=N_(
        "Import addresses from a CSV file (Excel, Outlook, Google Contacts …).\n"
        "\n"
        "The first row names the columns. Rows are imported in batches; a row that cannot be "
        "imported is reported with its number, the others are imported. Running the same import "
        "again adds nothing twice: addresses already there are reported as duplicates."
    ),
)
def import_csv(
    file: Annotated[Path, typer.Argument(help=N_("The CSV file."), exists=True, dir_okay=False)],
    mapping: Annotated[
        str | None,
        typer.Option(
            "--map",
            help=N_(
                "Which column is which field, e.g. 'Name=last_name,Firma=company_name,"
                "Telefon=phone' (columns by header or number; others are not imported). "
                "Default: guessed from the headers."
            ),
        ),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help=N_("The delimiter (default: found out), e.g. ';'."))
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help=N_("The encoding (default: found out), e.g. cp1252."))
    ] = None,
    dry_run: DryRun = False,
    report: ProblemsFile = None,
) -> None:
    try:
        book = open_csv(file.read_bytes(), delimiter=_delimiter(delimiter), encoding=encoding)
        columns = parse_mapping(mapping, book.headers) if mapping else suggest_mapping(book.headers)
    except ImportFileError as exc:
        fail(exc.text())
    except ValueError as exc:  # --map that names no field
        fail(str(exc))
    out.print(
        _("{file}: {encoding}, columns separated by {separator}.").format(
            file=file.name, encoding=_(book.encoding), separator=_(book.delimiter_name)
        )
    )
    table = Table(_("Column"), _("Imported as"), _("First row"))
    first = (book.preview(1) or [[""] * len(book.headers)])[0]
    for header, name, value in zip(book.headers, columns, first, strict=False):
        table.add_row(header, _(FIELDS[name]) if name else f"[dim]{_(FIELDS[name])}[/]", value)
    out.print(table)
    if not any(columns):
        fail(_("no column is imported: name them with --map, e.g. --map 'Name=last_name'"))
    _run_import(csv_records(book, columns), dry_run, report)


@import_app.command(
    "vcard",
    help=N_(
        "Import addresses from a vCard file (vCard 2.1, 3.0 or 4.0; many cards in one file).\n"
        "\n"
        "People with an organization become contact persons of that company. Running the same "
        "import again adds nothing twice."
    ),
)
def import_vcard(
    file: Annotated[
        Path, typer.Argument(help=N_("The vCard file (.vcf)."), exists=True, dir_okay=False)
    ],
    dry_run: DryRun = False,
    report: ProblemsFile = None,
) -> None:
    try:
        book = open_vcard(file.read_bytes())
    except ImportFileError as exc:
        fail(exc.text())
    cards = ngettext("{count} card", "{count} cards", book.cards).format(
        count=number_text(book.cards)
    )
    out.print(f"{file.name}: {cards}, {_(book.encoding)}.")
    _run_import(vcard_records(book.text), dry_run, report)


def _run_import(items: Any, dry_run: bool, report_path: Path | None) -> None:
    store = open_store(create=True)
    with Progress(TextColumn(_("Importing")), TextColumn("{task.completed:,}"), console=err) as bar:
        task = bar.add_task("rows", total=None)
        report = import_addresses(
            store, items, dry_run=dry_run, on_progress=lambda rows: bar.update(task, completed=rows)
        )
    store.dispose()
    rows = ngettext("{count} row", "{count} rows", report.rows)
    companies = ngettext("{count} company", "{count} companies", report.companies_created)
    if dry_run:
        done = _(
            "Would import {created} of {rows} and create {companies} for their contact persons."
        )
    else:
        done = _("Imported {created} of {rows} and created {companies} for their contact persons.")
    summary = _(
        "Duplicates skipped: {duplicates}. Not imported: {failed}. Imported with a warning: "
        "{warnings}."
    )
    out.print(
        done.format(
            created=number_text(report.created),
            rows=rows.format(count=number_text(report.rows)),
            companies=companies.format(count=number_text(report.companies_created)),
        )
        + " "
        + summary.format(
            duplicates=number_text(report.duplicates),
            failed=number_text(report.failed),
            warnings=number_text(report.warnings),
        )
    )
    if report.problems:
        table = Table(_("Row"), _("Line in the file"), "", _("What"))
        for problem in report.problems[:SHOWN_PROBLEMS]:
            table.add_row(
                str(problem.row), str(problem.line or ""), problem.severity, problem.text()
            )
        out.print(table)
        hidden = max(0, len(report.problems) - SHOWN_PROBLEMS) + report.problems_left_out
        if hidden > 0 and report_path is None:
            out.print(
                _("… and {count} more: see them all with --report FILE.").format(
                    count=number_text(hidden)
                )
            )
    if report_path is not None:
        _write_problems(report_path, report.problems)
        out.print(_("Every problem is listed in {path}").format(path=report_path.resolve()))
    if dry_run:
        out.print(_("Nothing was imported (--dry-run)."))


def _write_problems(path: Path, problems: list[Any]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("row", "line", "severity", "reason", "address_id"))
        for problem in problems:
            writer.writerow(
                (
                    problem.row,
                    problem.line or "",
                    problem.severity,
                    problem.reason,
                    problem.address_id or "",
                )
            )


def _delimiter(text: str | None) -> str | None:
    if text is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}
    value = named.get(text.casefold(), text)
    if len(value) != 1:
        fail(_("the delimiter must be one character (or tab), not {text}").format(text=repr(text)))
    return value
