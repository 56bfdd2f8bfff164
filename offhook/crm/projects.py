"""Projects: the list with what is booked on them, one project's page, the admin's form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from offhook.crm.choices import read_address
from offhook.crm.forms import Form
from offhook.crm.paging import Page, fetch_page
from offhook.crm.queries import LIKE_ESCAPE, escape_like
from offhook.crm.work import address_fields
from offhook.settings.language import N_, _
from offhook.store.models import Activity, Address, Project, Service

STATES = {"active": N_("Active"), "closed": N_("Closed"), "all": N_("All")}
RECENT = 100


def list_query(q: str, state: str) -> Select[Any]:
    query = select(Project).options(joinedload(Project.customer).joinedload(Address.company))
    if state == "active":
        query = query.where(Project.active.is_(True))
    elif state == "closed":
        query = query.where(Project.active.is_(False))
    if q:
        pattern = f"%{escape_like(q)}%"
        customers = select(Address.id).where(
            or_(
                Address.company_name.ilike(pattern, escape=LIKE_ESCAPE),
                Address.last_name.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
        query = query.where(
            or_(
                Project.code.ilike(pattern, escape=LIKE_ESCAPE),
                Project.description.ilike(pattern, escape=LIKE_ESCAPE),
                Project.customer_id.in_(customers),
            )
        )
    return query.order_by(Project.code)


def minutes_booked(
    session: Session, project_ids: list[int], user_id: int | None = None
) -> dict[int, int]:
    """Minutes booked per project (by everybody, or by one user)."""
    if not project_ids:
        return {}
    query = (
        select(Service.project_id, func.coalesce(func.sum(Service.minutes), 0))
        .where(Service.project_id.in_(project_ids))
        .group_by(Service.project_id)
    )
    if user_id is not None:
        query = query.where(Service.user_id == user_id)
    return {int(pid): int(total) for pid, total in session.execute(query) if pid is not None}


def listing(
    session: Session, q: str, state: str, number: int
) -> tuple[Page[Project], dict[int, int]]:
    page = fetch_page(session, list_query(q, state), number)
    return page, minutes_booked(session, [p.id for p in page.items])


def load(session: Session, project_id: int) -> Project | None:
    project: Project | None = session.scalar(
        select(Project)
        .where(Project.id == project_id)
        .options(joinedload(Project.customer).joinedload(Address.company))
    )
    return project


def detail(session: Session, project: Project, user_id: int, is_admin: bool) -> dict[str, Any]:
    """The project's page: what is booked on it (all of it for admins, one's own otherwise;
    the totals are the project's, whoever booked)."""
    services = select(Service).where(Service.project_id == project.id)
    activities = select(Activity).where(Activity.project_id == project.id)
    if not is_admin:
        services = services.where(Service.user_id == user_id)
        activities = activities.where(Activity.user_id == user_id)
    return {
        "project": project,
        "total": minutes_booked(session, [project.id]).get(project.id, 0),
        "mine": minutes_booked(session, [project.id], user_id).get(project.id, 0),
        "services": list(
            session.scalars(
                services.options(
                    joinedload(Service.user),
                    joinedload(Service.service_type),
                    joinedload(Service.address).joinedload(Address.company),
                )
                .order_by(Service.day.desc(), Service.started_at.desc(), Service.id.desc())
                .limit(RECENT)
            )
        ),
        "activities": list(
            session.scalars(
                activities.options(
                    joinedload(Activity.user),
                    joinedload(Activity.address).joinedload(Address.company),
                )
                .order_by(Activity.occurred_at.desc(), Activity.id.desc())
                .limit(RECENT)
            )
        ),
    }


def blank(customer: Address | None = None) -> dict[str, str]:
    return {"code": "", "description": "", "active": "on"} | address_fields(customer)


def of_project(project: Project) -> dict[str, str]:
    return {
        "code": project.code,
        "description": project.description,
        "active": "on" if project.active else "",
    } | address_fields(project.customer)


@dataclass(frozen=True, slots=True)
class ProjectInput:
    form: Form
    fields: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.form.ok


def read(session: Session, form: Form, project: Project | None = None) -> ProjectInput:
    code = form.text("code", N_("code"), 40, required=True)
    description = form.text("description", N_("description"), 300)
    customer = read_address(session, form)
    if code:
        taken = session.scalar(
            select(Project).where(func.lower(Project.code) == code.lower()).limit(1)
        )
        if taken is not None and (project is None or taken.id != project.id):
            form.error(
                "code",
                _("The code {code} is already used by “{name}”. Choose another code.").format(
                    code=taken.code, name=taken.description or taken.code
                ),
            )
    fields = {
        "code": code,
        "description": description,
        "customer_id": customer.id if customer else None,
        "active": form.checked("active"),
    }
    return ProjectInput(form, fields)


def save(session: Session, project: Project | None, data: ProjectInput) -> Project:
    if project is None:
        project = Project()
        session.add(project)
    for name, value in data.fields.items():
        setattr(project, name, value)
    session.flush()
    return project
