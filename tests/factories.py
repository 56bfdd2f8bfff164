"""Building blocks for tests: users, lines and addresses in a real store."""

from __future__ import annotations

from typing import Any

from offhook.directory.names import normalize_address
from offhook.lines.admin import add_line_with_system, install_driver
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.settings.users import add_user
from offhook.store import Store
from offhook.store.models import Address, Channel, Line, Project, ServiceType, User

PASSWORD = "correct horse battery"


def telephony(store: Store, **values: Any) -> TelephonySettings:
    with store.session() as session:
        settings = TelephonySettings.load(session).model_copy(update=values)
        settings = TelephonySettings.model_validate(settings.model_dump())
        settings.save(session)
        return settings


def user_with_line(
    store: Store,
    login: str = "anna",
    role: str = "admin",
    driver: str = "simulator",
    auto_load: bool = True,
    extension: str | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[User, Line]:
    with store.session() as session:
        install_driver(session, driver, auto_load=auto_load)
        user = add_user(session, login, login.title(), PASSWORD, role, extension)
        line = add_line_with_system(
            session, user, driver, f"line-of-{login}", f"{login}'s phone", options
        )
        return user, line


def address(
    store: Store,
    kind: str = "contact",
    first: str = "Anna",
    last: str = "Müller",
    company: str = "Muster AG",
    numbers: tuple[tuple[str, str], ...] = (("phone", "044 668 18 12"),),
) -> Address:
    with store.session() as session:
        settings = TelephonySettings.load(session)
        parent = None
        if kind == "contact":
            parent = Address(
                kind="company",
                company_name=company,
                street="Bahnhofstrasse 12",
                postcode="8001",
                city="Zürich",
                country="CH",
            )
            session.add(parent)
        row = Address(
            kind=kind,
            first_name=first if kind != "company" else "",
            last_name=last if kind != "company" else "",
            company_name=company if kind == "company" else "",
            company=parent,
            country="CH",
        )
        row.channels = [Channel(kind=k, value=v, position=i) for i, (k, v) in enumerate(numbers)]
        session.add(row)
        normalize_address(row, numbering_plan(settings), settings.fingerprint())
        session.flush()
        return row


def project(store: Store, code: str, customer_id: int | None = None) -> Project:
    with store.session() as session:
        row = Project(code=code, description=f"Project {code}", customer_id=customer_id)
        session.add(row)
        session.flush()
        return row


def service_type(store: Store, code: str = "TEL", name: str = "Phone call") -> ServiceType:
    with store.session() as session:
        row = ServiceType(code=code, name=name)
        session.add(row)
        session.flush()
        return row
