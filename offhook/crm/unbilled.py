"""Unbilled calls: connected calls with clients (addresses that have projects) that no
service was booked for and that nobody marked "not billable". Each is billable time the firm
may be losing; the list is worked to empty by booking each call or marking it.

"With a client" means the call's address, or the company of a contact person, is the
customer of a project (active or not: closing a project does not rewrite the past). A call
counts as booked when any service was made of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from offhook.crm.paging import PAGE_SIZE, Page, fetch_page
from offhook.journal import entries as journal
from offhook.journal.entry import JournalEntry
from offhook.settings.telephony import TelephonySettings
from offhook.store.call_sums import (
    booked_clause,
    client_clause,
    connected_clause,
    marked_clause,
    seconds_connected,
)
from offhook.store.local_time import local_midnight
from offhook.store.models import Address, Call, Line, NotBillable, Project, User

# A query of any columns: the filters below narrow lists and figures alike.
AnySelect = Select[*tuple[Any, ...]]

REASON_MAX = 300
EXPORT_BATCH = 2000
MAX_MINUTES_FILTER = 24 * 60


@dataclass(frozen=True, slots=True)
class UnbilledFilter:
    """Whose unbilled calls (None: the whole firm's), of which period (local days), with
    which address, at least how long."""

    user_id: int | None
    first: date | None = None
    last: date | None = None
    address_id: int | None = None
    min_minutes: int = 0


@dataclass(frozen=True, slots=True)
class UnbilledRow:
    entry: JournalEntry
    owner: str
    # The project to preselect on the service form: the client's only project, if it has one.
    project_id: int | None


def lines_of(session: Session, user_id: int | None) -> list[int] | None:
    """The user's lines (None: everybody's), looked up first: a query on one line's calls
    then walks that line's index in order and stops after a page, where a subquery of lines
    would make the database read and sort all of the user's calls."""
    if user_id is None:
        return None
    return list(session.scalars(select(Line.id).where(Line.user_id == user_id)))


def scoped(query: AnySelect, lines: list[int] | None) -> AnySelect:
    if lines is None:
        return query
    if len(lines) == 1:
        return query.where(Call.line_id == lines[0])
    return query.where(Call.line_id.in_(lines))


def in_period(
    query: AnySelect, first: date | None, last: date | None, settings: TelephonySettings
) -> AnySelect:
    if first:
        query = query.where(Call.started_at >= local_midnight(first, settings.zone))
    if last:
        query = query.where(
            Call.started_at < local_midnight(last + timedelta(days=1), settings.zone)
        )
    return query


def client_calls(query: AnySelect) -> AnySelect:
    """`query` on calls, held to connected calls with clients."""
    return query.join(Address, Address.id == Call.address_id).where(
        connected_clause(), client_clause()
    )


def unbilled_query(
    flt: UnbilledFilter, settings: TelephonySettings, lines: list[int] | None
) -> AnySelect:
    """The unbilled calls of `flt` on `lines` (`lines_of` the filter's user)."""
    query = client_calls(select(Call)).where(~booked_clause(), ~marked_clause())
    query = in_period(scoped(query, lines), flt.first, flt.last, settings)
    if flt.address_id is not None:
        query = query.where(Call.address_id == flt.address_id)
    if flt.min_minutes > 0:
        query = query.where(seconds_connected() >= flt.min_minutes * 60)
    return query.order_by(Call.started_at.desc(), Call.id.desc())


def unbilled(
    session: Session,
    flt: UnbilledFilter,
    settings: TelephonySettings,
    number: int,
    size: int = PAGE_SIZE,
) -> Page[UnbilledRow]:
    """One page of unbilled calls, newest first."""
    lines = lines_of(session, flt.user_id)
    query = journal.with_details(unbilled_query(flt, settings, lines))
    page = fetch_page(session, query, number, size)
    calls: list[Call] = page.items
    entries = journal.entries(session, calls, settings)
    owners = _owners(session, [call.line.user_id for call in calls])
    projects = only_projects(session, [call.address for call in calls if call.address])
    rows = [
        UnbilledRow(
            entry,
            owners.get(call.line.user_id, ""),
            projects.get(call.address_id) if call.address_id else None,
        )
        for call, entry in zip(calls, entries, strict=True)
    ]
    return Page(rows, page.number, page.size, page.has_next)


def _owners(session: Session, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(set(user_ids))))
    return {user_id: name for user_id, name in rows}


def only_projects(session: Session, addresses: list[Address]) -> dict[int, int]:
    """For each address whose client (itself, or its company) has exactly one active project:
    that project, to book on without choosing."""
    ids = {a.id for a in addresses} | {a.company_id for a in addresses if a.company_id}
    if not ids:
        return {}
    found: dict[int, list[int]] = {}
    rows = session.execute(
        select(Project.customer_id, Project.id).where(
            Project.customer_id.in_(ids), Project.active.is_(True)
        )
    )
    for customer_id, project_id in rows:
        if customer_id is None:  # pragma: no cover - the query asks for customers only
            continue
        found.setdefault(customer_id, []).append(project_id)
    result: dict[int, int] = {}
    for address in addresses:
        own = found.get(address.id, []) + (
            found.get(address.company_id, []) if address.company_id else []
        )
        if len(own) == 1:
            result[address.id] = own[0]
    return result


# --- not billable ------------------------------------------------------------------------------


class NotMarkable(LookupError):
    """The call is not one of the user's connected calls; interfaces answer "not found"."""


def mark_not_billable(session: Session, user_id: int, call_id: int, reason: str) -> NotBillable:
    """Mark the user's connected call as not to be billed; marking again changes the reason."""
    call = journal.user_call(session, user_id, call_id)
    if call is None or call.connected_at is None or call.state != "ended":
        raise NotMarkable("There is no such connected call among yours.")
    mark = session.get(NotBillable, call_id)
    text = " ".join(reason.split())[:REASON_MAX]
    if mark is None:
        mark = NotBillable(call_id=call_id, user_id=user_id, reason=text)
        session.add(mark)
    else:
        mark.reason = text
    session.flush()
    return mark


def unmark(session: Session, user_id: int, call_id: int) -> bool:
    """Undo a "not billable" mark on the user's call: it is back on the list."""
    if journal.user_call(session, user_id, call_id) is None:
        raise NotMarkable("There is no such call among yours.")
    mark = session.get(NotBillable, call_id)
    if mark is None:
        return False
    session.delete(mark)  # through the session: the sums of calls see it (`calls.day_sums`)
    session.flush()
    return True


def mark_of(session: Session, call_id: int) -> NotBillable | None:
    return session.get(NotBillable, call_id)


def export(
    session: Session, flt: UnbilledFilter, settings: TelephonySettings, limit: int
) -> list[UnbilledRow]:
    """Every unbilled call of the filter (at most `limit`), for a download."""
    rows: list[UnbilledRow] = []
    number = 1
    while len(rows) < limit:
        found = unbilled(session, flt, settings, number, EXPORT_BATCH)
        rows += found.items
        if not found.has_next:
            break
        number += 1
    return rows[:limit]
