"""Imported records into the store: addresses with normalized numbers, companies, duplicates.

- Numbers are normalized on the way in, by the same rule as every other writer
  (`offhook.directory.normalization.normalized`); a number that cannot be normalized is imported
  as entered and reported as a warning (it shows in Settings › Phone numbers too).
- A person with a company becomes a contact person of that company: found by its exact name,
  or created once per import.
- Re-running an import does not duplicate: an address of the same kind with the same name (at
  the same company) that shares a number or e-mail address with the row, or where either has
  none, is the same address. The row is skipped and reported as a duplicate with a link.
- One transaction per batch of rows. If a batch cannot be saved, its rows are saved one by
  one, so one bad row costs only itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from offhook.directory.normalization import normalized
from offhook.intake.imports.records import ImportedAddress, RowProblem, country_code
from offhook.numbers import NumberingPlan
from offhook.settings.language import N_
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store import Store
from offhook.store.models import Address, Channel

BATCH_SIZE = 500
MAX_PROBLEMS = 2000  # kept for the report; more are counted only


@dataclass
class ImportReport:
    """What an import did, row by row where something was not right."""

    rows: int = 0
    created: int = 0  # addresses from rows (persons, contact persons, companies)
    companies_created: int = 0  # companies created for the contact persons of rows
    duplicates: int = 0
    failed: int = 0
    warnings: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False

    def note(self, problem: RowProblem) -> None:
        if problem.severity == "error":
            self.failed += 1
        elif problem.severity == "duplicate":
            self.duplicates += 1
        else:
            self.warnings += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    @property
    def problems_left_out(self) -> int:
        return self.failed + self.duplicates + self.warnings - len(self.problems)


@dataclass
class _Context:
    plan: NumberingPlan
    fingerprint: str
    companies: dict[str, int] = field(default_factory=dict)  # name → id, found or created
    company_countries: dict[int, str] = field(default_factory=dict)  # of companies found
    seen: dict[tuple[str, ...], set[str]] = field(default_factory=dict)  # this file's addresses


def import_addresses(
    store: Store,
    items: Iterable[ImportedAddress | RowProblem],
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import the records; problems from reading the file are reported as they come."""
    with store.session() as session:
        settings = TelephonySettings.load(session)
    context = _Context(numbering_plan(settings), settings.fingerprint())
    report = ImportReport(dry_run=dry_run)
    batch: list[ImportedAddress] = []
    for item in items:
        report.rows += 1
        if isinstance(item, RowProblem):
            report.note(item)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            _save_batch(store, batch, context, report, dry_run)
            if on_progress is not None:
                on_progress(report.rows)
            batch = []
    if batch:
        _save_batch(store, batch, context, report, dry_run)
    if on_progress is not None:
        on_progress(report.rows)
    report.problems.sort(key=lambda problem: problem.row)
    return report


def _save_batch(
    store: Store,
    batch: list[ImportedAddress],
    context: _Context,
    report: ImportReport,
    dry_run: bool,
) -> None:
    companies, seen = dict(context.companies), dict(context.seen)
    outcome: list[tuple[int, int, list[RowProblem]]] = []
    try:
        with store.sessions() as session:
            outcome = [_save(session, record, context) for record in batch]
            session.flush()
            if dry_run:
                session.rollback()
            else:
                session.commit()
    except Exception:
        if len(batch) == 1:
            context.companies, context.seen = companies, seen
            report.note(RowProblem(batch[0].row, N_("it could not be saved"), line=batch[0].line))
            return
        # Find the row that spoils the batch: one transaction per row.
        context.companies, context.seen = companies, seen
        for record in batch:
            _save_batch(store, [record], context, report, dry_run)
        return
    for created, new_companies, problems in outcome:
        report.created += created
        report.companies_created += new_companies
        for problem in problems:
            report.note(problem)


def _save(
    session: Session, record: ImportedAddress, context: _Context
) -> tuple[int, int, list[RowProblem]]:
    """Add one record to the session: (addresses created, companies created, problems)."""
    record.tidy()
    problems = list(record.problems)
    refused = record.check()
    if refused is not None:
        return 0, 0, [refused]
    code = country_code(record.country)
    if code is None:
        problems.append(
            RowProblem(
                record.row,
                N_("the country {country!r} is not known; left empty"),
                severity="warning",
                line=record.line,
                params={"country": record.country},
            )
        )
        code = ""
    kind = record.kind
    company_id, new_companies = None, 0
    if kind == "contact":
        company_id, new_companies = _company(session, record.company_name, context)
    # Numbers written the local way of the address's country are read there; a contact
    # person without a country of their own is where their company is.
    country = code or context.company_countries.get(company_id or 0, "")
    channels = [
        _channel(kind_, value, label, position, country, context)
        for position, (kind_, value, label) in enumerate(record.channels)
    ]
    for channel in channels:
        if channel.kind != "email" and channel.number_kind in ("invalid", "withheld"):
            reason = channel.normalize_error or N_("it is no phone number")
            problems.append(
                RowProblem(
                    record.row,
                    N_(
                        "the {kind} number {number!r} could not be normalized ({problem}); "
                        "imported as entered"
                    ),
                    severity="warning",
                    line=record.line,
                    params={"number": channel.value, "kind": channel.kind, "problem": reason},
                )
            )
    keys = {channel.e164 or channel.value.casefold() for channel in channels}
    name_key = (kind, record.first_name, record.last_name, record.company_name)
    earlier = context.seen.get(name_key)
    if earlier is not None and (not keys or not earlier or keys & earlier):
        return (
            0,
            new_companies,
            [_duplicate_row(record, N_("already earlier in this file; skipped"))],
        )
    existing = _duplicate(session, record, kind, company_id, keys)
    if existing is not None:
        reason = N_("already in the CRM (address {address}); skipped")
        return 0, new_companies, [_duplicate_row(record, reason, existing)]
    address = Address(
        kind=kind,
        salutation=record.salutation,
        first_name=record.first_name if kind != "company" else "",
        last_name=record.last_name if kind != "company" else "",
        company_name=record.company_name if kind != "contact" else "",
        company_id=company_id,
        position=record.position,
        street=record.street,
        postcode=record.postcode,
        city=record.city,
        country=code,
        notes=record.notes,
    )
    address.channels = channels
    session.add(address)
    context.seen[name_key] = keys
    if kind == "company":
        context.companies.setdefault(record.company_name, -1)  # found in the session from here
    return 1, new_companies, problems


def _duplicate_row(
    record: ImportedAddress, message: str, address_id: int | None = None
) -> RowProblem:
    return RowProblem(
        record.row,
        message,
        severity="duplicate",
        line=record.line,
        address_id=address_id,
        params={} if address_id is None else {"address": str(address_id)},
    )


def _channel(
    kind: str, value: str, label: str, position: int, country: str, context: _Context
) -> Channel:
    e164, number_kind, block_prefix, error = normalized(kind, value, context.plan, country)
    return Channel(
        kind=kind,
        label=label[:80],
        value=value,
        position=position,
        e164=e164,
        number_kind=number_kind,
        block_prefix=block_prefix,
        normalize_error=error,
        normalized_with=context.fingerprint,
    )


def _company(session: Session, name: str, context: _Context) -> tuple[int, int]:
    """The id of the company with this exact name, created if there is none; and 1 if created."""
    known = context.companies.get(name)
    if known is not None and known > 0:
        return known, 0
    found = session.execute(
        select(Address.id, Address.country)
        .where(Address.last_name == "", Address.company_name == name, Address.kind == "company")
        .order_by(Address.id)
        .limit(1)
    ).first()
    if found is not None:
        context.companies[name] = found.id
        context.company_countries[found.id] = found.country
        return found.id, 0
    company = Address(kind="company", company_name=name)
    session.add(company)
    session.flush()  # its id, for the contact persons
    context.companies[name] = company.id
    return company.id, 1


def _duplicate(
    session: Session, record: ImportedAddress, kind: str, company_id: int | None, keys: set[str]
) -> int | None:
    """An address already in the store that this record describes, or None."""
    query = select(Address.id).where(Address.kind == kind)
    if kind == "company":
        query = query.where(Address.last_name == "", Address.company_name == record.company_name)
    else:
        query = query.where(
            Address.last_name == record.last_name, Address.first_name == record.first_name
        )
        if kind == "contact":
            if company_id is None:
                return None
            query = query.where(Address.company_id == company_id)
    for candidate in session.scalars(query.order_by(Address.id).limit(20)):
        existing = {
            e164 or value.casefold()
            for e164, value in session.execute(
                select(Channel.e164, Channel.value).where(Channel.address_id == candidate)
            )
        }
        if not keys or not existing or keys & existing:
            return candidate
    return None
