"""Project pages: the list with what is booked, one project, and the admin's project form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offhook.crm import projects
from offhook.crm.forms import Form
from offhook.crm.paging import page_number
from offhook.settings.language import _
from offhook.store.models import Address, Project
from offhook.web.common import (
    PageNo,
    Text,
    in_session,
    not_found,
    page,
    pager,
    read_form,
    see_other,
)
from offhook.web.security import Admin, CurrentUser, User_, csrf_protect
from offhook.web.templating import flash

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

CODE_TAKEN = "This code is already used by another project. Choose another code."


@router.get("/projects")
async def index(
    request: Request, user: User_, q: Text = "", state: Text = "active", page_: PageNo = "1"
) -> Response:
    state = state if state in projects.STATES else "active"
    found, totals = await in_session(
        request, lambda session: projects.listing(session, q.strip(), state, page_number(page_))
    )
    return page(
        request,
        "projects/index.html",
        user,
        q=q,
        state=state,
        states=projects.STATES,
        page=found,
        totals=totals,
        pager=pager(request, found),
    )


def _form_page(
    request: Request,
    user: CurrentUser,
    values: dict[str, str],
    errors: dict[str, str],
    project: Project | None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "projects/form.html",
        user,
        status_code=status_code,
        values=values,
        errors=errors,
        project=project,
    )


@router.get("/projects/new")
async def new(request: Request, user: Admin, customer: Text = "") -> Response:
    def work(session: Session) -> dict[str, str]:
        preset = session.get(Address, int(customer)) if customer.isdigit() else None
        return projects.blank(preset)

    return _form_page(request, user, await in_session(request, work), {}, None)


async def _save(
    request: Request, user: CurrentUser, form: Form, project_id: int | None
) -> Response:
    def work(session: Session) -> tuple[Project | None, Project | None]:
        project = projects.load(session, project_id) if project_id else None
        if project_id and project is None:
            raise not_found("project")
        data = projects.read(session, form, project)
        if not data.ok:
            return None, project
        return projects.save(session, project, data), project

    try:
        saved, project = await in_session(request, work)
    except IntegrityError as exc:
        # Two admins saving the same new code at once: the database has the last word.
        if "code" not in str(exc.orig).lower():
            raise
        form.error("code", CODE_TAKEN)
        saved, project = None, None
    if saved is None:
        return _form_page(request, user, form.values(), form.errors, project, 422)
    flash(request, _("Project {code} saved.").format(code=saved.code))
    return see_other(f"/projects/{saved.id}")


@router.post("/projects/new")
async def create(request: Request, user: Admin) -> Response:
    return await _save(request, user, await read_form(request), None)


@router.get("/projects/{project_id}")
async def show(request: Request, project_id: int, user: User_) -> Response:
    def work(session: Session) -> dict[str, Any]:
        project = projects.load(session, project_id)
        if project is None:
            raise not_found("project")
        return projects.detail(session, project, user.id, user.is_admin)

    return page(request, "projects/show.html", user, **await in_session(request, work))


@router.get("/projects/{project_id}/edit")
async def edit(request: Request, project_id: int, user: Admin) -> Response:
    project = await in_session(request, lambda session: projects.load(session, project_id))
    if project is None:
        raise not_found("project")
    return _form_page(request, user, projects.of_project(project), {}, project)


@router.post("/projects/{project_id}/edit")
async def update(request: Request, project_id: int, user: Admin) -> Response:
    return await _save(request, user, await read_form(request), project_id)
