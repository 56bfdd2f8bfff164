"""Service pages: my services of a day, and entering one (often from a call)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from offhook.crm import services
from offhook.crm.choices import project_choices, service_types
from offhook.crm.forms import parse_day
from offhook.crm.work import FromCall, from_call
from offhook.settings.clock import minutes_text
from offhook.settings.language import N_, _
from offhook.settings.telephony import SettingsCache, TelephonySettings
from offhook.store.models import Address, Service
from offhook.web.common import Text, in_session, owned, page, read_form, ref, see_other
from offhook.web.security import CurrentUser, User_, csrf_protect
from offhook.web.templating import flash

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/services")
async def index(request: Request, user: User_, day: Text = "") -> Response:
    def work(session: Session) -> dict[str, Any]:
        settings = SettingsCache.get(session)
        today = services.today(settings)
        shown = parse_day(day) or today
        rows = services.of_day(session, user.id, shown)
        return {
            "day_shown": shown,
            "today": today,
            "prev_day": shown - timedelta(days=1),
            "next_day": shown + timedelta(days=1),
            "services": rows,
            "total": sum(s.minutes for s in rows),
        }

    return page(request, "services/index.html", user, **await in_session(request, work))


def _form_context(
    session: Session,
    settings: TelephonySettings,
    values: dict[str, str],
    source: FromCall | None,
    service: Service | None = None,
) -> dict[str, Any]:
    address_id = ref(values.get("address_id", ""))
    seconds = services.call_seconds(source) if source else None
    return {
        "values": values,
        "source": source.entry if source else None,
        "call": source.call if source else None,
        "call_minutes": settings.billable_minutes(seconds) if seconds is not None else None,
        "rule": settings.rounding_text(),
        "projects": project_choices(session, address_id, service.project_id if service else None),
        "service_types": service_types(session, service.service_type_id if service else None),
        "existing": services.for_call(session, source.call.id) if source else [],
        "service": service,
    }


def _form_page(
    request: Request,
    user: CurrentUser,
    context: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return page(
        request, "services/form.html", user, status_code=status_code, errors=errors, **context
    )


def _bookable(source: FromCall | None) -> None:
    if source is not None and services.call_seconds(source) is None:
        raise HTTPException(
            409,
            "This call was not connected (or is still going on), so there is no call time to"
            " book. Enter the service by hand instead.",
        )


@router.get("/services/new")
async def new(
    request: Request,
    user: User_,
    call: Text = "",
    project: Text = "",
    address: Text = "",
    day: Text = "",
    back: Text = "",
) -> Response:
    def work(session: Session) -> dict[str, Any]:
        settings = SettingsCache.get(session)
        source = from_call(session, user.id, ref(call), settings)
        _bookable(source)
        preset = session.get(Address, ref(address)) if ref(address) else None
        values = services.blank(session, settings, source, preset, ref(project), parse_day(day))
        # Booked from the list of unbilled calls: back to it after saving.
        values["back"] = back if _back_to_list(back) else ""
        return _form_context(session, settings, values, source)

    return _form_page(request, user, await in_session(request, work), {})


@router.post("/services/new")
async def create(request: Request, user: User_) -> Response:
    form = await read_form(request)

    def work(session: Session) -> tuple[Service | None, dict[str, Any]]:
        settings = SettingsCache.get(session)
        source = from_call(session, user.id, form.ref("call_id"), settings)
        _bookable(source)
        data = services.read(session, form, settings, source=source)
        if not data.ok:
            return None, _form_context(session, settings, form.values(), source)
        return services.save(session, None, data, user.id, source), {}

    service, context = await in_session(request, work)
    if service is None:
        return _form_page(request, user, context, form.errors, status_code=422)
    flash(request, _("Service of {minutes} saved.").format(minutes=minutes_text(service.minutes)))
    if _back_to_list(form.get("back")):
        return see_other(form.get("back"))
    return see_other(f"/services?day={service.day.isoformat()}")


def _back_to_list(back: str) -> bool:
    """Only the list of unbilled calls: a redirect anywhere else would be an open one."""
    return back == "/unbilled" or back.startswith("/unbilled?")


async def _load(request: Request, user: CurrentUser, service_id: int, *, edit: bool) -> Service:
    """The user's own service; admins may look at anybody's, but change only their own."""
    found = await in_session(request, lambda session: services.load(session, service_id))
    return owned(found, user, "service", admin_too=not edit)


@router.get("/services/{service_id}")
async def show(request: Request, service_id: int, user: User_) -> Response:
    service = await _load(request, user, service_id, edit=False)
    return page(request, "services/show.html", user, service=service)


@router.get("/services/{service_id}/edit")
async def edit(request: Request, service_id: int, user: User_) -> Response:
    def work(session: Session) -> dict[str, Any]:
        service = owned(services.load(session, service_id), user, "service", admin_too=False)
        settings = SettingsCache.get(session)
        values = services.of_service(service, settings)
        return _form_context(session, settings, values, None, service)

    return _form_page(request, user, await in_session(request, work), {})


@router.post("/services/{service_id}/edit")
async def update(request: Request, service_id: int, user: User_) -> Response:
    form = await read_form(request)

    def work(session: Session) -> tuple[Service | None, dict[str, Any]]:
        service = owned(services.load(session, service_id), user, "service", admin_too=False)
        settings = SettingsCache.get(session)
        data = services.read(session, form, settings, service)
        if not data.ok:
            return None, _form_context(session, settings, form.values(), None, service)
        return services.save(session, service, data, user.id), {}

    service, context = await in_session(request, work)
    if service is None:
        return _form_page(request, user, context, form.errors, status_code=422)
    flash(request, N_("Service saved."))
    return see_other(f"/services/{service_id}")


@router.get("/services/{service_id}/delete")
async def confirm_delete(request: Request, service_id: int, user: User_) -> Response:
    service = await _load(request, user, service_id, edit=True)
    return page(request, "services/delete.html", user, service=service)


@router.post("/services/{service_id}/delete")
async def delete(request: Request, service_id: int, user: User_) -> Response:
    def work(session: Session) -> str:
        service = owned(session.get(Service, service_id), user, "service", admin_too=False)
        session.delete(service)
        return service.day.isoformat()

    day = await in_session(request, work)
    flash(request, N_("Service deleted."))
    return see_other(f"/services?day={day}")
