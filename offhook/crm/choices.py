"""What the activity, service and project forms let the user choose from, and reading the
choice back: the address, the project (the address's own first), the service type."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from offhook.crm.forms import Form
from offhook.directory.names import display_name
from offhook.settings.language import _
from offhook.store.models import Address, Project, ServiceType

# The journal's project menu shows this many; typing narrows it down.
PROJECT_MENU_LIMIT = 50


def projects_for(session: Session, address_id: int | None, q: str = "") -> list[dict[str, Any]]:
    """The project menu of a journal entry (▾): active projects, those of the address (or of
    its company) first, then all others."""
    owners: list[int] = []
    if address_id is not None:
        address = session.get(Address, address_id)
        if address is not None:
            owners = [address.id] + ([address.company_id] if address.company_id else [])
    query = select(Project).where(Project.active.is_(True))
    if q.strip():
        pattern = f"%{q.strip()}%"
        query = query.where(or_(Project.code.ilike(pattern), Project.description.ilike(pattern)))
    own = case((Project.customer_id.in_(owners), 0), else_=1) if owners else None
    query = query.order_by(own, Project.code) if own is not None else query.order_by(Project.code)
    return [
        {
            "id": project.id,
            "code": project.code,
            "description": project.description,
            "own": project.customer_id in owners,
        }
        for project in session.scalars(query.limit(PROJECT_MENU_LIMIT))
    ]


def project_choices(
    session: Session, address_id: int | None, current_id: int | None = None
) -> dict[str, Any]:
    """Active projects for a select: the address's (and its company's) first. The current
    project stays choosable even when it was closed since."""
    projects = projects_for(session, address_id)
    if current_id is not None and all(p["id"] != current_id for p in projects):
        current = session.get(Project, current_id)
        if current is not None:
            projects.insert(
                0,
                {
                    "id": current.id,
                    "code": current.code,
                    "description": current.description + ("" if current.active else " (closed)"),
                    "own": False,
                },
            )
    address = session.get(Address, address_id) if address_id else None
    return {
        "own": [p for p in projects if p["own"]],
        "other": [p for p in projects if not p["own"]],
        "owner": display_name(address) if address else "",
    }


def service_types(session: Session, current_id: int | None = None) -> list[ServiceType]:
    rows = list(
        session.scalars(
            select(ServiceType).where(ServiceType.active.is_(True)).order_by(ServiceType.name)
        )
    )
    if current_id is not None and all(t.id != current_id for t in rows):
        current = session.get(ServiceType, current_id)
        if current is not None:
            rows.insert(0, current)
    return rows


def read_address(session: Session, form: Form) -> Address | None:
    """The address picked in an address field (a name with the picked id beside it)."""
    picked = form.ref("address_id")
    name = form.get("address_name")
    if picked is None:
        if name:
            form.error("address_name", _("Choose the address from the list, or leave it empty."))
        return None
    address = session.get(Address, picked)
    if address is None:
        form.error("address_name", _("That address no longer exists; choose another one."))
    return address


def read_project(session: Session, form: Form, current_id: int | None = None) -> Project | None:
    """The chosen project; it must be active, unless it is the one already booked on."""
    picked = form.ref("project_id")
    if picked is None:
        return None
    project = session.get(Project, picked)
    if project is None:
        form.error("project_id", _("That project no longer exists; choose another one."))
    elif not project.active and project.id != current_id:
        form.error(
            "project_id",
            _("Project {code} is closed; choose an active one.").format(code=project.code),
        )
    return project


def read_service_type(
    session: Session, form: Form, current_id: int | None = None
) -> ServiceType | None:
    picked = form.ref("service_type_id")
    if picked is None:
        # Required as soon as the firm has service types; without any, services go untyped.
        if session.scalar(select(ServiceType.id).where(ServiceType.active.is_(True)).limit(1)):
            form.error("service_type_id", _("Choose the type of service."))
        return None
    kind = session.get(ServiceType, picked)
    if kind is None or (not kind.active and kind.id != current_id):
        form.error("service_type_id", _("That service type is no longer in use; choose another."))
        return None
    return kind
