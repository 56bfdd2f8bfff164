"""Demo data: a small Zurich firm with clients at home and abroad, two users, simulated lines.

Numbers are written the many ways people really type them, so the demo shows the lookup at work.
Everything is made up; any likeness to real numbers is accidental.
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
from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.settings.users import add_user, create_token
from offhook.store import Store
from offhook.store.models import (
    Activity,
    Address,
    ApiToken,
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

# (company, street, postcode, city, country, switchboard as typed, website-ish e-mail domain,
#  [(salutation, first, last, position, direct number as typed, mobile as typed)])
COMPANIES: list[tuple[str, str, str, str, str, str, str, list[tuple[str, ...]]]] = [
    (
        "Muster AG",
        "Bahnhofstrasse 12",
        "8001",
        "Zürich",
        "CH",
        "044 668 18 00",
        "muster.ch",
        [
            ("Frau", "Anna", "Müller", "CFO", "+41 44 668 18 12", "079 412 33 18"),
            ("Herr", "Peter", "Keller", "CEO", "044/668.18.10", ""),
            ("Frau", "Sandra", "Vogel", "Accounting", "+41 (0)44 668 18 27", ""),
        ],
    ),
    (
        "Bäckerei Frei GmbH",
        "Seestrasse 88",
        "8800",
        "Thalwil",
        "CH",
        "+41 44 720 45 10",
        "baeckerei-frei.ch",
        [
            ("Herr", "Urs", "Frei", "Owner", "", "+41 79 331 20 45"),
        ],
    ),
    (
        "Alpenblick Hotels SA",
        "Rue du Rhône 40",
        "1204",
        "Genève",
        "CH",
        "+41 22 310 22 00",
        "alpenblick.ch",
        [
            ("Madame", "Claire", "Dubois", "Directrice", "022 310 22 14", "+41 78 602 11 90"),
            ("Monsieur", "Luc", "Favre", "Finance", "0041 22 310 22 31", ""),
        ],
    ),
    (
        "Rheintal Logistik AG",
        "Industriestrasse 5",
        "9430",
        "St. Margrethen",
        "CH",
        "071 747 80 80",
        "rheintal-logistik.ch",
        [
            ("Herr", "Marco", "Baumann", "Head of Operations", "071 747 80 85", "076 455 12 12"),
            ("Frau", "Jasmin", "Koller", "HR", "071 747 80 92", ""),
        ],
    ),
    (
        "Bern Immobilien Treuhand AG",
        "Marktgasse 20",
        "3011",
        "Bern",
        "CH",
        "031 311 44 00",
        "bit-bern.ch",
        [
            ("Herr", "Thomas", "Zaugg", "Partner", "031 311 44 07", ""),
        ],
    ),
    (
        "Tessiner Weine Sagl",
        "Via Nassa 3",
        "6900",
        "Lugano",
        "CH",
        "+41 91 922 66 30",
        "tessinerweine.ch",
        [
            ("Signora", "Giulia", "Bernasconi", "Titolare", "", "+41 79 800 54 21"),
        ],
    ),
    (
        "Basler Pharma Consulting AG",
        "Aeschenvorstadt 55",
        "4051",
        "Basel",
        "CH",
        "+41 61 205 70 00",
        "bpc.ch",
        [
            ("Dr.", "Stefan", "Gerber", "Managing Partner", "061 205 70 11", ""),
            ("Frau", "Nadine", "Schmid", "Office", "061 205 70 19", ""),
        ],
    ),
    (
        "Werkstatt Weber",
        "Dorfstrasse 2",
        "8610",
        "Uster",
        "CH",
        "044 940 12 34",
        "weber-uster.ch",
        [("Herr", "Hans", "Weber", "Inhaber", "", "079 640 71 03")],
    ),
    (
        "Schneider Maschinenbau GmbH",
        "Leopoldstraße 110",
        "80802",
        "München",
        "DE",
        "+49 89 3816 0",
        "schneider-mb.de",
        [
            (
                "Herr",
                "Klaus",
                "Schneider",
                "Geschäftsführer",
                "+49 89 3816-214",
                "+49 171 5523 410",
            ),
            ("Frau", "Petra", "Hoffmann", "Einkauf", "089 / 3816 - 230", ""),
        ],
    ),
    (
        "Spree Software GmbH",
        "Friedrichstraße 68",
        "10117",
        "Berlin",
        "DE",
        "+49 (0)30 2096 550",
        "spree-software.de",
        [
            ("Herr", "Jonas", "Becker", "CTO", "+49 30 2096 5512", "0049 160 9120 3345"),
        ],
    ),
    (
        "Wiener Kaffeehaus Handels GmbH",
        "Graben 21",
        "1010",
        "Wien",
        "AT",
        "+43 1 512 34 56",
        "kaffeehaus-handel.at",
        [
            ("Frau", "Elisabeth", "Gruber", "Prokuristin", "0043 1 512 34 56-21", ""),
        ],
    ),
    (
        "Atelier Lumière SARL",
        "12 Rue de Rivoli",
        "75004",
        "Paris",
        "FR",
        "+33 1 42 71 20 00",
        "atelier-lumiere.fr",
        [
            ("Madame", "Sophie", "Laurent", "Gérante", "+33 (0)1 42 71 20 14", "+33 6 12 34 56 78"),
        ],
    ),
    (
        "Thames Advisory Ltd",
        "40 Bank Street",
        "E14 5NR",
        "London",
        "GB",
        "+44 20 7946 0000",
        "thamesadvisory.co.uk",
        [
            ("Mr", "Oliver", "Bennett", "Partner", "+44 20 7946 0958", "+44 7911 123456"),
        ],
    ),
    (
        "Hudson Trading Inc.",
        "350 Fifth Avenue",
        "10118",
        "New York",
        "US",
        "+1 (212) 555-0100",
        "hudsontrading.com",
        [
            ("Ms", "Emily", "Carter", "VP Finance", "+1 212-555-0148", ""),
        ],
    ),
    (
        "Milano Design Srl",
        "Via Montenapoleone 8",
        "20121",
        "Milano",
        "IT",
        "+39 02 7600 1234",
        "milanodesign.it",
        [
            ("Signor", "Luca", "Rossi", "Direttore", "+39 02 7600 1240", "+39 347 123 4567"),
        ],
    ),
]

# (salutation, first, last, street, postcode, city, country, phone as typed, mobile as typed)
PERSONS: list[tuple[str, ...]] = [
    (
        "Frau",
        "Monika",
        "Steiner",
        "Rosenweg 4",
        "8004",
        "Zürich",
        "CH",
        "044 401 22 18",
        "079 222 18 40",
    ),
    ("Herr", "Daniel", "Brunner", "Hauptstrasse 77", "5400", "Baden", "CH", "056 222 61 09", ""),
    ("Frau", "Lea", "Fischer", "Lindenhofweg 9", "3600", "Thun", "CH", "", "+41 76 389 90 12"),
    ("Herr", "Reto", "Huber", "Bergstrasse 15", "7000", "Chur", "CH", "081 252 33 71", ""),
    (
        "Frau",
        "Sarah",
        "Meier",
        "Kirchgasse 3",
        "8400",
        "Winterthur",
        "CH",
        "052 212 45 60",
        "078 715 02 66",
    ),
    ("Herr", "Martin", "Wyss", "Schulhausstrasse 8", "6003", "Luzern", "CH", "041 210 98 76", ""),
    ("Frau", "Corinne", "Roth", "Zelgliweg 1", "8706", "Meilen", "CH", "+41 44 923 11 05", ""),
    (
        "Herr",
        "Beat",
        "Lehmann",
        "Gartenstrasse 30",
        "4600",
        "Olten",
        "CH",
        "062 296 44 12",
        "079 640 18 22",
    ),
    (
        "Frau",
        "Ingrid",
        "Wagner",
        "Mozartstraße 5",
        "5020",
        "Salzburg",
        "AT",
        "0043 662 87 65 43",
        "",
    ),
    ("Herr", "Felix", "Schulz", "Königsallee 60", "40212", "Düsseldorf", "DE", "0211 868 20", ""),
    (
        "Frau",
        "Nina",
        "Zimmermann",
        "Spitalgasse 4",
        "3011",
        "Bern",
        "CH",
        "",
        "+41 (0) 79 555 23 41",
    ),
    ("Herr", "Andreas", "Graf", "Seefeldstrasse 201", "8008", "Zürich", "CH", "044 383 90 90", ""),
]

PROJECTS = [
    ("P-101", "Annual accounts 2026", "Muster AG"),
    ("P-102", "VAT audit support", "Muster AG"),
    ("P-110", "Payroll outsourcing", "Rheintal Logistik AG"),
    ("P-120", "Hotel group restructuring", "Alpenblick Hotels SA"),
    ("P-130", "Real estate valuation Marktgasse", "Bern Immobilien Treuhand AG"),
    ("P-140", "Cross-border tax advice", "Schneider Maschinenbau GmbH"),
    ("P-141", "Transfer pricing documentation", "Schneider Maschinenbau GmbH"),
    ("P-150", "Due diligence Spree Software", "Spree Software GmbH"),
    ("P-160", "Bookkeeping 2026", "Bäckerei Frei GmbH"),
    ("P-170", "Company formation Ticino", "Tessiner Weine Sagl"),
    ("P-180", "UK subsidiary reporting", "Thames Advisory Ltd"),
    ("P-900", "Internal: training and admin", None),
]

SERVICE_TYPES = [
    ("TEL", "Phone call"),
    ("CONS", "Consulting"),
    ("ACC", "Accounting"),
    ("ADM", "Administration"),
]


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
    from offhook.store.models import Call

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
            text=rng.choice(
                [
                    "Questions on the annual accounts",
                    "Clarified open invoices",
                    "VAT question",
                    "Follow-up on documents",
                    "Planning next steps",
                    "Payroll question",
                ]
            ),
        )
    )
    session.add(
        Activity(
            user_id=user_id,
            address_id=call.address_id,
            project_id=project.id if project else None,
            call_id=call.id,
            occurred_at=call.started_at,
            subject="Phone call",
            text="Discussed the next steps; documents to follow by e-mail.",
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
    callers = [*(n for n in numbers if n), "+41 79 555 01 99", "anonymous", "+49 30 901820"]
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
    _history(session, lines, [*[n for n in numbers if n][:30], "+41 79 555 01 99"], rng)
    return anna
