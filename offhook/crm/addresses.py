"""One address: what its page shows, what deleting it touches, and linking a call to it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from offhook.directory.lookup import lookup, read_incoming
from offhook.directory.names import NUMBER_KINDS, country_name, display_name, full_address
from offhook.journal import entries as journal
from offhook.settings.telephony import TelephonySettings
from offhook.store.models import (
    Activity,
    Address,
    Call,
    Channel,
    Line,
    Project,
    Service,
)

RECENT = 10
CONTACTS_SHOWN = 100  # a company page lists this many; the search finds the others


def load(session: Session, address_id: int) -> Address | None:
    return session.scalar(
        select(Address)
        .where(Address.id == address_id)
        .options(
            joinedload(Address.company).selectinload(Address.channels),
            selectinload(Address.channels),
        )
    )


def detail(
    session: Session, address: Address, settings: TelephonySettings, user_id: int, is_admin: bool
) -> dict[str, Any]:
    """What the address page shows. Activities, services and calls are the user's own
    (an admin sees everybody's)."""
    owners = [address.id] + ([address.company_id] if address.company_id else [])
    projects = list(
        session.scalars(
            select(Project)
            .where(Project.customer_id.in_(owners))
            .options(joinedload(Project.customer).joinedload(Address.company))
            .order_by(Project.active.desc(), Project.code)
        )
    )
    activities = select(Activity).where(Activity.address_id == address.id)
    services = select(Service).where(Service.address_id == address.id)
    calls = select(Call).where(Call.address_id == address.id)
    if not is_admin:
        activities = activities.where(Activity.user_id == user_id)
        services = services.where(Service.user_id == user_id)
        calls = calls.where(Call.line_id.in_(select(Line.id).where(Line.user_id == user_id)))
    recent_calls = list(
        session.scalars(
            journal.with_details(calls)
            .order_by(Call.started_at.desc(), Call.id.desc())
            .limit(RECENT)
        ).unique()
    )
    return {
        "address": address,
        "heading": display_name(address),
        "full_address": full_address(address, settings.country),
        "contacts": list(
            session.scalars(
                select(Address)
                .where(Address.company_id == address.id)
                .options(joinedload(Address.company), selectinload(Address.channels))
                .order_by(Address.last_name, Address.first_name, Address.id)
                .limit(CONTACTS_SHOWN)
            )
        ),
        "contact_count": contact_count(session, address.id),
        "projects": projects,
        "activities": list(
            session.scalars(
                activities.options(joinedload(Activity.project), joinedload(Activity.user))
                .order_by(Activity.occurred_at.desc(), Activity.id.desc())
                .limit(RECENT)
            )
        ),
        "services": list(
            session.scalars(
                services.options(joinedload(Service.project), joinedload(Service.user))
                .order_by(Service.day.desc(), Service.started_at.desc(), Service.id.desc())
                .limit(RECENT)
            )
        ),
        "calls": journal.entries(session, recent_calls, settings),
        "country": country_name(address.country)
        if address.country and address.country.upper() != settings.country
        else "",
    }


def contact_count(session: Session, company_id: int) -> int:
    return int(
        session.scalar(select(func.count(Address.id)).where(Address.company_id == company_id)) or 0
    )


def deletion_impact(session: Session, address: Address) -> dict[str, int]:
    """What deleting the address touches, for the confirmation page."""

    def count(query: Select[Any]) -> int:
        return int(session.scalar(query) or 0)

    return {
        "channels": len(address.channels),
        "contacts": contact_count(session, address.id),
        "projects": count(select(func.count(Project.id)).where(Project.customer_id == address.id)),
        "activities": count(
            select(func.count(Activity.id)).where(Activity.address_id == address.id)
        ),
        "services": count(select(func.count(Service.id)).where(Service.address_id == address.id)),
        "calls": count(select(func.count(Call.id)).where(Call.address_id == address.id)),
    }


def first_number(address: Address) -> Channel | None:
    return next((c for c in address.channels if c.kind in NUMBER_KINDS), None)


def link_call(
    session: Session, user_id: int, call_id: int, address: Address, settings: TelephonySettings
) -> bool:
    """Make the user's call point to `address`: the one they chose among the several its number
    belongs to, or the one just created for an unknown number. The choice sticks for the call.
    Only the user's own calls; False if the call is not theirs."""
    call = journal.user_call(session, user_id, call_id)
    if call is None:
        return False
    parsed = read_incoming(call.remote_number, settings)
    session.flush()  # an address just created is found like any other
    match = next(
        (m for m in lookup(session, parsed, settings.country) if m.address_id == address.id), None
    )
    if match is not None:
        call.channel_id, call.match = match.channel_id, match.match
    else:
        # Not in the number index yet: its channel with the very number, if it has one.
        channel = next((c for c in address.channels if parsed.e164 and c.e164 == parsed.e164), None)
        call.channel_id = channel.id if channel else None
        call.match = "exact" if channel else None
    call.address_id = address.id
    call.address_chosen = True
    return True
