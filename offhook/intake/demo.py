"""Demo data: a small Zurich firm with clients at home and abroad, two users, simulated lines.

The firm's world (addresses, projects, service types, texts) is in `demo_data`; this module
puts it into a store and makes up a few weeks of calls.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide
from offhook.calls.recorder import record
from offhook.directory.names import normalize_address
from offhook.intake.demo_data import (
    ACTIVITY_SUBJECT,
    ACTIVITY_TEXT,
    COMPANIES,
    OTHER_CALLERS,
    PERSONS,
    PROJECTS,
    SERVICE_TEXTS,
    SERVICE_TYPES,
    UNKNOWN_CALLER,
)
from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.settings.users import add_user, create_token
from offhook.store import Store
from offhook.store.models import (
    Activity,
    Address,
    ApiToken,
    Call,
    Channel,
    Line,
    PhoneSystem,
    Project,
    Service,
    ServiceType,
    User,
)

DEMO_PASSWORD = "offhook-demo"  # noqa: S105 - printed on purpose: it is the demo's
TOKEN_LABEL = "demo command line"  # noqa: S105 - a label, not a secret
DEMO_PHONE_SYSTEM = "Office PBX (simulated)"
DEMO_RING_GROUP = "600"


def _domain_email(first: str, last: str, domain: str) -> str:
    clean = (
        f"{first}.{last}".lower()
        .replace("ä", "ae")
        .replace("ö", "oe")
        .replace("ü", "ue")
        .replace("é", "e")
        .replace(" ", "")
    )
    return f"{clean}@{domain}"


def _channel(kind: str, value: str, position: int, label: str = "") -> Channel:
    return Channel(kind=kind, value=value, position=position, label=label)


def _addresses(session: Session, settings: TelephonySettings) -> dict[str, Address]:
    plan = numbering_plan(settings)
    fingerprint = settings.fingerprint()
    companies: dict[str, Address] = {}
    for name, street, postcode, city, country, switchboard, domain, contacts in COMPANIES:
        company = Address(
            kind="company",
            company_name=name,
            street=street,
            postcode=postcode,
            city=city,
            country=country,
        )
        company.channels = [
            _channel("phone", switchboard, 0, "Switchboard"),
            _channel("email", f"info@{domain}", 1),
        ]
        session.add(company)
        normalize_address(company, plan, fingerprint)
        companies[name] = company
        for salutation, first, last, position, direct, mobile in contacts:
            contact = Address(
                kind="contact",
                salutation=salutation,
                first_name=first,
                last_name=last,
                position=position,
                company=company,
                country=country,
            )
            channels = []
            if direct:
                channels.append(_channel("phone", direct, 0, "Direct"))
            if mobile:
                channels.append(_channel("mobile", mobile, 1))
            channels.append(_channel("email", _domain_email(first, last, domain), 2))
            contact.channels = channels
            session.add(contact)
            normalize_address(contact, plan, fingerprint)
    for salutation, first, last, street, postcode, city, country, phone, mobile in PERSONS:
        person = Address(
            kind="person",
            salutation=salutation,
            first_name=first,
            last_name=last,
            street=street,
            postcode=postcode,
            city=city,
            country=country,
        )
        channels = []
        if phone:
            channels.append(_channel("phone", phone, 0, "Private"))
        if mobile:
            channels.append(_channel("mobile", mobile, 1))
        person.channels = channels
        session.add(person)
        normalize_address(person, plan, fingerprint)
    session.flush()
    return companies


def _history(session: Session, lines: list[Line], numbers: list[str], rng: random.Random) -> None:
    """A few weeks of past calls, with the activities and services made of some."""
    zone = TelephonySettings.load(session).zone
    today = datetime.now(zone).date()
    tel = session.scalar(select(ServiceType).where(ServiceType.code == "TEL"))
    projects = list(session.scalars(select(Project)))
    for days_ago in range(1, 22):
        day = today - timedelta(days=days_ago)
        if day.weekday() >= 5:
            continue
        for line in lines:
            for _ in range(rng.randint(2, 6)):
                start = datetime.combine(
                    day, time(rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59)), zone
                ).astimezone(UTC)
                incoming = rng.random() < 0.65
                direction = Direction.INCOMING if incoming else Direction.OUTGOING
                ref = f"demo-{line.id}-{start.timestamp():.0f}-{rng.randint(0, 10**6)}"
                number = rng.choice(numbers)
                first = CallState.RINGING if incoming else CallState.DIALLING
                events = [CallEvent(line.id, ref, direction, first, start, number)]
                answered = rng.random() < 0.8
                end = start + timedelta(seconds=rng.randint(5, 25))
                reason: EndReason | None = EndReason.MISSED if incoming else EndReason.CANCELLED
                if answered:
                    events.append(CallEvent(line.id, ref, direction, CallState.CONNECTED, end))
                    end = end + timedelta(seconds=rng.randint(40, 1500))
                    reason = None
                events.append(
                    CallEvent(
                        line.id,
                        ref,
                        direction,
                        CallState.ENDED,
                        end,
                        end_reason=reason,
                        hangup_by=rng.choice([HangupSide.LOCAL, HangupSide.REMOTE]),
                    )
                )
                for event in events:
                    change = record(session, event)
                if answered and rng.random() < 0.5:
                    _work_for(session, change.call_id, line.user_id, projects, tel, rng)


def _work_for(
    session: Session,
    call_id: int,
    user_id: int,
    projects: list[Project],
    tel: ServiceType | None,
    rng: random.Random,
) -> None:
    call = session.get(Call, call_id)
    if call is None or call.connected_at is None or call.ended_at is None:
        return
    settings = TelephonySettings.load(session)
    own = [
        p
        for p in projects
        if call.address and p.customer_id in (call.address.id, call.address.company_id)
    ]
    project = rng.choice(own) if own else None
    seconds = (call.ended_at - call.connected_at).total_seconds()
    session.add(
        Service(
            user_id=user_id,
            project_id=project.id if project else None,
            service_type_id=tel.id if tel else None,
            address_id=call.address_id,
            call_id=call.id,
            day=call.connected_at.astimezone(settings.zone).date(),
            started_at=call.connected_at,
            ended_at=call.ended_at,
            minutes=settings.billable_minutes(seconds),
            text=rng.choice(SERVICE_TEXTS),
        )
    )
    session.add(
        Activity(
            user_id=user_id,
            address_id=call.address_id,
            project_id=project.id if project else None,
            call_id=call.id,
            occurred_at=call.started_at,
            subject=ACTIVITY_SUBJECT,
            text=ACTIVITY_TEXT,
        )
    )


def seed_demo(store: Store, call_every: float = 90.0) -> str:
    """Fill an empty store with the demo firm (a no-op if it is there); an API token for anna."""
    rng = random.Random(41)
    with store.session() as session:
        anna = session.scalar(select(User).where(User.login == "anna"))
        if anna is None:
            anna = _seed(session, rng)
        system = session.scalar(
            select(PhoneSystem)
            .where(PhoneSystem.name == DEMO_PHONE_SYSTEM)
            .order_by(PhoneSystem.id)
        )
        if system is not None:
            system.options = {**system.options, "call_every": call_every}
        session.execute(
            delete(ApiToken).where(ApiToken.user_id == anna.id, ApiToken.name == TOKEN_LABEL)
        )
        return create_token(session, anna, TOKEN_LABEL)


def _seed(session: Session, rng: random.Random) -> User:
    settings = TelephonySettings(
        country="CH",
        area_code="44",
        outside_line="",
        internal_max_length=4,
        rounding_step=5,
        rounding_mode="up",
        rounding_minimum=5,
        timezone="Europe/Zurich",
    )
    for code, name in SERVICE_TYPES:
        session.add(ServiceType(code=code, name=name))
    session.flush()
    tel = session.scalar(select(ServiceType).where(ServiceType.code == "TEL"))
    settings.service_type_id = tel.id if tel else None
    settings.save(session)

    companies = _addresses(session, settings)
    for code, description, customer in PROJECTS:
        session.add(
            Project(
                code=code,
                description=description,
                customer_id=companies[customer].id if customer else None,
            )
        )
    anna = add_user(
        session,
        "anna",
        "Anna Keller",
        DEMO_PASSWORD,
        "admin",
        "201",
        "anna.keller@keller-partner.example",
    )
    ben = add_user(
        session, "ben", "Ben Frei", DEMO_PASSWORD, "user", "202", "ben.frei@keller-partner.example"
    )
    install_driver(session, "simulator", auto_load=True)
    numbers = [c.e164 for c in session.scalars(select(Channel).where(Channel.e164.is_not(None)))]
    callers = [*(n for n in numbers if n), *OTHER_CALLERS]
    # One simulated PBX for the firm: each user's desk phone is an extension on it, and the
    # team's number 600 rings both (a ring group), as the calls that come by themselves do.
    options: dict[str, Any] = {
        "answer_after": 3,
        "callers": rng.sample(callers, 18),
        "ring_groups": {DEMO_RING_GROUP: ["201", "202"]},
        "calls_to": DEMO_RING_GROUP,
    }
    pbx = add_phone_system(session, "simulator", DEMO_PHONE_SYSTEM, options)
    lines = [
        add_line(session, anna, pbx, "201", "Anna's desk phone"),
        add_line(session, ben, pbx, "202", "Ben's desk phone"),
    ]
    _history(session, lines, [*[n for n in numbers if n][:30], UNKNOWN_CALLER], rng)
    return anna
