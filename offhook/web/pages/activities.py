"""Activity pages: my activities, and entering one (often from a call in the journal)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from offhook.crm import activities
from offhook.crm.choices import project_choices
from offhook.crm.forms import Form, parse_day
from offhook.crm.paging import page_number
from offhook.crm.work import FromCall, from_call
from offhook.settings.language import N_
from offhook.settings.telephony import SettingsCache
from offhook.store.models import Activity, Address
from offhook.web.common import (
    FromDay,
    PageNo,
    Text,
    ToDay,
    in_session,
    owned,
    page,
    pager,
    read_form,
    ref,
    see_other,
)
from offhook.web.security import CurrentUser, User_, csrf_protect
from offhook.web.templating import flash

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/activities")
async def index(
    request: Request, user: User_, first: FromDay = "", last: ToDay = "", page_: PageNo = "1"
) -> Response:
    start, end = parse_day(first), parse_day(last)

    def work(session: Session) -> Any:
        settings = SettingsCache.get(session)
        return activities.mine(session, user.id, start, end, settings, page_number(page_))

    found = await in_session(request, work)
    return page(
        request,
        "activities/index.html",
        user,
        page=found,
        pager=pager(request, found),
        first=start or first,
        last=end or last,
        bad_dates=bool((first and not start) or (last and not end)),
    )


def _form_context(
    session: Session,
    values: dict[str, str],
    source: FromCall | None,
    activity: Activity | None = None,
) -> dict[str, Any]:
    address_id = ref(values.get("address_id", ""))
    current = activity.project_id if activity else None
    return {
        "values": values,
        "source": source.entry if source else None,
        "projects": project_choices(session, address_id, current),
        "activity": activity,
    }


def _form_page(
    request: Request,
    user: CurrentUser,
    context: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return page(
        request, "activities/form.html", user, status_code=status_code, errors=errors, **context
    )


@router.get("/activities/new")
async def new(
    request: Request, user: User_, call: Text = "", project: Text = "", address: Text = ""
) -> Response:
    def work(session: Session) -> dict[str, Any]:
        settings = SettingsCache.get(session)
        source = from_call(session, user.id, ref(call), settings)
        preset = session.get(Address, ref(address)) if ref(address) else None
        values = activities.blank(session, settings, source, preset, ref(project))
        return _form_context(session, values, source)

    return _form_page(request, user, await in_session(request, work), {})


@router.post("/activities/new")
async def create(request: Request, user: User_) -> Response:
    form = await read_form(request)

    def work(session: Session) -> tuple[int | None, dict[str, Any]]:
        settings = SettingsCache.get(session)
        source = from_call(session, user.id, form.ref("call_id"), settings)
        data = activities.read(session, form, settings, source=source)
        if not data.ok:
            return None, _form_context(session, form.values(), source)
        return activities.save(session, None, data, user.id, source).id, {}

    activity_id, context = await in_session(request, work)
    if activity_id is None:
        return _form_page(request, user, context, form.errors, status_code=422)
    flash(request, N_("Activity saved."))
    return see_other(f"/activities/{activity_id}")


async def _own(request: Request, user: CurrentUser, activity_id: int) -> Activity:
    found = await in_session(request, lambda session: activities.load(session, activity_id))
    return owned(found, user, "activity")


@router.get("/activities/{activity_id}")
async def show(request: Request, activity_id: int, user: User_) -> Response:
    activity = await _own(request, user, activity_id)
    return page(request, "activities/show.html", user, activity=activity)


@router.get("/activities/{activity_id}/edit")
async def edit(request: Request, activity_id: int, user: User_) -> Response:
    def work(session: Session) -> dict[str, Any]:
        activity = owned(activities.load(session, activity_id), user, "activity")
        values = activities.of_activity(activity, SettingsCache.get(session))
        return _form_context(session, values, None, activity)

    return _form_page(request, user, await in_session(request, work), {})


@router.post("/activities/{activity_id}/edit")
async def update(request: Request, activity_id: int, user: User_) -> Response:
    form = await read_form(request)

    def work(session: Session) -> tuple[bool, dict[str, Any]]:
        activity = owned(activities.load(session, activity_id), user, "activity")
        data = activities.read(session, form, SettingsCache.get(session), activity)
        if not data.ok:
            return False, _form_context(session, _keep_call(form, activity), None, activity)
        activities.save(session, activity, data, user.id)
        return True, {}

    saved, context = await in_session(request, work)
    if not saved:
        return _form_page(request, user, context, form.errors, status_code=422)
    flash(request, N_("Activity saved."))
    return see_other(f"/activities/{activity_id}")


def _keep_call(form: Form, activity: Activity) -> dict[str, str]:
    return form.values() | {"call_id": str(activity.call_id or "")}


@router.get("/activities/{activity_id}/delete")
async def confirm_delete(request: Request, activity_id: int, user: User_) -> Response:
    activity = await _own(request, user, activity_id)
    return page(request, "activities/delete.html", user, activity=activity)


@router.post("/activities/{activity_id}/delete")
async def delete(request: Request, activity_id: int, user: User_) -> Response:
    def work(session: Session) -> None:
        session.delete(owned(session.get(Activity, activity_id), user, "activity"))

    await in_session(request, work)
    flash(request, N_("Activity deleted."))
    return see_other("/activities")
