"""Settings › Phone systems, Settings › Lines and Settings › Interfaces › Extensions.

An admin installs a driver (Extensions), sets up a phone system once with it (Phone systems:
host, credentials, a webhook secret …) and gives each user a line on it that names only their
extension, device or number (Lines). Users see their own lines and their state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from offhook.drivers.contract import Driver
from offhook.drivers.registry import DriverInfo, available_drivers, driver_class
from offhook.lines.admin import (
    LineConfigError,
    add_line,
    add_phone_system,
    install_driver,
    public_options,
    set_auto_load,
    uninstall_driver,
    update_phone_system,
    validate_options,
)
from offhook.lines.running import LineError
from offhook.settings.language import N_, _
from offhook.store.models import InstalledDriver, Line, PhoneSystem, User
from offhook.web.context import offhook_of
from offhook.web.option_forms import OptionsFormError, fields_of, read_fields
from offhook.web.security import Admin, CurrentUser, User_, csrf_protect
from offhook.web.templating import flash, render

router = APIRouter(
    prefix="/settings", dependencies=[Depends(csrf_protect)], include_in_schema=False
)

FormErrors = (LineConfigError, OptionsFormError, LineError, LookupError)


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


# --- Interfaces > Extensions (drivers) ----------------------------------------------------------


@router.get("/extensions")
async def extensions(request: Request, user: Admin) -> Response:
    def work() -> dict[str, InstalledDriver]:
        with offhook_of(request).store.session() as session:
            return {e.name: e for e in session.scalars(select(InstalledDriver))}

    state = await asyncio.to_thread(work)
    loaded = offhook_of(request).lines.loaded
    rows = [
        {"info": info, "ext": state.get(name), "loaded": name in loaded}
        for name, info in available_drivers().items()
    ]
    return render(request, "settings/extensions.html", user, rows=rows)


async def _driver_change(request: Request, name: str, change: Any, done: str) -> Response:
    def work() -> None:
        with offhook_of(request).store.session() as session:
            change(session)

    try:
        await asyncio.to_thread(work)
        flash(request, done)
    except FormErrors as exc:
        flash(request, str(exc), "error")
    return _see_other("/settings/extensions")


@router.post("/extensions/{name}/install")
async def install(request: Request, name: str, user: Admin) -> Response:
    return await _driver_change(
        request, name, lambda s: install_driver(s, name, auto_load=False), "Installed."
    )


@router.post("/extensions/{name}/auto-load")
async def auto_load(request: Request, name: str, user: Admin) -> Response:
    on = (await _form(request)).get("auto_load") == "on"
    done = "Auto Load is on: it starts with the server." if on else "Auto Load is off."
    return await _driver_change(request, name, lambda s: set_auto_load(s, name, on), done)


@router.post("/extensions/{name}/load")
async def load(request: Request, name: str, user: Admin) -> Response:
    try:
        started = await offhook_of(request).lines.load_driver(name)
        flash(
            request,
            _("Loaded; {count} line(s) started until the server stops.").format(count=len(started)),
        )
    except FormErrors as exc:
        flash(request, str(exc), "error")
    return _see_other("/settings/extensions")


@router.post("/extensions/{name}/uninstall")
async def uninstall(request: Request, name: str, user: Admin) -> Response:
    response = await _driver_change(
        request, name, lambda s: uninstall_driver(s, name), "Uninstalled; its lines stopped."
    )
    await offhook_of(request).lines.unload_driver(name)
    return response


# --- Phone systems -------------------------------------------------------------------------------


def _installed(session: Any) -> list[DriverInfo]:
    names = set(
        session.scalars(select(InstalledDriver.name).where(InstalledDriver.installed.is_(True)))
    )
    return [info for name, info in available_drivers().items() if name in names and info.usable]


@dataclass(frozen=True, slots=True)
class SystemRow:
    system: PhoneSystem
    title: str
    lines: int
    state: dict[str, Any]


def _systems(request: Request) -> dict[str, Any]:
    app = offhook_of(request)
    with app.store.session() as session:
        counts = dict(
            session.execute(
                select(Line.phone_system_id, func.count(Line.id)).group_by(Line.phone_system_id)
            ).all()
        )
        rows = []
        for system in session.scalars(select(PhoneSystem).order_by(PhoneSystem.name)):
            info = available_drivers().get(system.driver)
            runner = app.lines.running.get(system.id)
            state = {"state": runner.state.value, "reason": runner.reason} if runner else None
            rows.append(
                SystemRow(
                    system,
                    info.title if info else system.driver,
                    counts.get(system.id, 0),
                    state or {"state": "stopped", "reason": ""},
                )
            )
        return {"rows": rows, "drivers": _installed(session)}


@router.get("/phone-systems")
async def phone_systems(request: Request, user: Admin) -> Response:
    context = await asyncio.to_thread(_systems, request)
    return render(request, "settings/phone_systems.html", user, **context)


def _new_context(request: Request, driver: str) -> dict[str, Any]:
    with offhook_of(request).store.session() as session:
        if driver not in {info.name for info in _installed(session)}:
            raise HTTPException(404, N_("Install that driver first, in Settings › Interfaces."))
        users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))
    cls = driver_class(driver)
    return {"cls": cls, "fields": fields_of(cls.Options), "users": users}


@router.get("/phone-systems/new")
async def new_phone_system(request: Request, user: Admin, driver: str = "") -> Response:
    context = await asyncio.to_thread(_new_context, request, driver)
    return render(request, "settings/phone_system_new.html", user, form={}, error=None, **context)


@router.post("/phone-systems")
async def create_phone_system(request: Request, user: Admin) -> Response:
    form = await _form(request)
    driver = form.get("driver", "")
    app = offhook_of(request)

    def work() -> int:
        cls = driver_class(driver)
        with app.store.session() as session:
            system = add_phone_system(
                session, driver, form.get("name", ""), read_fields(cls.Options, form)
            )
            if cls.max_lines == 1:  # a softphone: its one line is set up with it
                owner = session.get(User, _number(form.get("user_id")))
                if owner is None:
                    raise LineConfigError("choose whose line it is")
                add_line(session, owner, system, form.get("address", ""), form.get("label", ""))
            return system.id

    try:
        system_id = await asyncio.to_thread(work)
    except FormErrors as exc:
        context = await asyncio.to_thread(_new_context, request, driver)
        return render(
            request,
            "settings/phone_system_new.html",
            user,
            status_code=422,
            form=form,
            error=str(exc),
            **context,
        )
    await _start_if_loaded(request, system_id, driver, "Phone system added.")
    return _see_other(f"/settings/phone-systems/{system_id}")


async def _start_if_loaded(request: Request, system_id: int, driver: str, done: str) -> None:
    app = offhook_of(request)
    if driver in app.lines.loaded:
        try:
            await app.lines.start_system(system_id)
            flash(request, done + " It is running.")
        except LineError as exc:
            flash(request, f"{done} It could not start: {exc}", "error")
    else:
        flash(request, done + f" It starts when the {driver} driver is loaded.")


def _system(request: Request, system_id: int) -> dict[str, Any]:
    app = offhook_of(request)
    with app.store.session() as session:
        system = session.get(PhoneSystem, system_id)
        if system is None:
            raise HTTPException(404, N_("There is no such phone system."))
        lines = list(
            session.scalars(
                select(Line)
                .where(Line.phone_system_id == system_id)
                .options(joinedload(Line.user))
                .order_by(Line.address)
            )
        )
        users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))
        session.expunge_all()
    cls: type[Driver] | None
    try:
        cls = driver_class(system.driver)
    except LookupError:
        cls = None
    runner = app.lines.running.get(system_id)
    return {
        "system": system,
        "cls": cls,
        "fields": fields_of(cls.Options, system.options) if cls else [],
        "line_fields": fields_of(cls.LineOptions) if cls else [],
        "lines": [(line, app.lines.status(line.id)) for line in lines],
        "users": users,
        "state": {"state": runner.state.value, "reason": runner.reason} if runner else None,
    }


@router.get("/phone-systems/{system_id}")
async def phone_system(request: Request, system_id: int, user: Admin) -> Response:
    context = await asyncio.to_thread(_system, request, system_id)
    return render(request, "settings/phone_system.html", user, form={}, error=None, **context)


@router.post("/phone-systems/{system_id}")
async def save_phone_system(request: Request, system_id: int, user: Admin) -> Response:
    form = await _form(request)

    def work() -> str:
        with offhook_of(request).store.session() as session:
            system = session.get(PhoneSystem, system_id)
            if system is None:
                raise HTTPException(404, N_("There is no such phone system."))
            cls = driver_class(system.driver)
            update_phone_system(
                session, system, form.get("name", ""), read_fields(cls.Options, form)
            )
            return system.driver

    try:
        driver = await asyncio.to_thread(work)
    except FormErrors as exc:
        context = await asyncio.to_thread(_system, request, system_id)
        return render(
            request,
            "settings/phone_system.html",
            user,
            status_code=422,
            form=form,
            error=str(exc),
            **context,
        )
    await _start_if_loaded(request, system_id, driver, "Saved.")
    return _see_other(f"/settings/phone-systems/{system_id}")


async def _switch_system(request: Request, system_id: int, on: bool) -> Response:
    def work() -> str:
        with offhook_of(request).store.session() as session:
            system = session.get(PhoneSystem, system_id)
            if system is None:
                raise HTTPException(404, N_("There is no such phone system."))
            system.enabled = on
            return system.driver

    driver = await asyncio.to_thread(work)
    if on:
        await _start_if_loaded(request, system_id, driver, "Switched on.")
    else:
        await offhook_of(request).lines.stop_system(system_id)
        flash(request, N_("Switched off: its lines get no calls until you switch it on again."))
    return _see_other(f"/settings/phone-systems/{system_id}")


@router.post("/phone-systems/{system_id}/enable")
async def enable_system(request: Request, system_id: int, user: Admin) -> Response:
    return await _switch_system(request, system_id, True)


@router.post("/phone-systems/{system_id}/disable")
async def disable_system(request: Request, system_id: int, user: Admin) -> Response:
    return await _switch_system(request, system_id, False)


@router.post("/phone-systems/{system_id}/restart")
async def restart_system(request: Request, system_id: int, user: Admin) -> Response:
    driver = await asyncio.to_thread(_system_driver, request, system_id)
    await _start_if_loaded(request, system_id, driver, "Restarted.")
    return _see_other(f"/settings/phone-systems/{system_id}")


def _system_driver(request: Request, system_id: int) -> str:
    with offhook_of(request).store.session() as session:
        system = session.get(PhoneSystem, system_id)
        if system is None:
            raise HTTPException(404, N_("There is no such phone system."))
        return system.driver


@router.get("/phone-systems/{system_id}/delete")
async def confirm_delete_system(request: Request, system_id: int, user: Admin) -> Response:
    context = await asyncio.to_thread(_system, request, system_id)
    return render(request, "settings/phone_system_delete.html", user, **context)


@router.post("/phone-systems/{system_id}/delete")
async def delete_system(request: Request, system_id: int, user: Admin) -> Response:
    await offhook_of(request).lines.stop_system(system_id)

    def work() -> None:
        with offhook_of(request).store.session() as session:
            system = session.get(PhoneSystem, system_id)
            if system is None:
                raise HTTPException(404, N_("There is no such phone system."))
            session.delete(system)

    await asyncio.to_thread(work)
    flash(request, N_("Phone system deleted, with its lines and their call history."))
    return _see_other("/settings/phone-systems")


# --- Lines ---------------------------------------------------------------------------------------


def _lines_context(request: Request, user: CurrentUser) -> dict[str, Any]:
    app = offhook_of(request)
    with app.store.session() as session:
        query = (
            select(Line)
            .options(joinedload(Line.user), joinedload(Line.phone_system))
            .order_by(Line.id)
        )
        if not user.is_admin:
            query = query.where(Line.user_id == user.id)
        shared = set(
            session.scalars(
                select(Line.phone_system_id)
                .group_by(Line.phone_system_id)
                .having(func.count(func.distinct(Line.user_id)) > 1)
            )
        )
        rows = [
            {
                "line": line,
                "status": app.lines.status(line.id),
                "options": public_options(line.driver, line.options, "line"),
                # Restarting a line restarts its phone system: the admin's call when
                # colleagues' lines are on it too.
                "restartable": user.is_admin or line.phone_system_id not in shared,
            }
            for line in session.scalars(query)
        ]
        users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))
        systems = [
            (system, available_drivers().get(system.driver))
            for system in session.scalars(select(PhoneSystem).order_by(PhoneSystem.name))
        ]
        session.expunge_all()
    return {
        "rows": rows,
        "users": users,
        "systems": [
            (s, i) for s, i in systems if i is None or i.driver is None or i.driver.max_lines != 1
        ],
        "drivers": {name: info for name, info in available_drivers().items() if info.usable},
    }


@router.get("/lines")
async def lines(request: Request, user: User_) -> Response:
    context = await asyncio.to_thread(_lines_context, request, user)
    return render(request, "settings/lines.html", user, form={}, error=None, **context)


@router.post("/lines")
async def create_line(request: Request, user: Admin) -> Response:
    form = await _form(request)
    app = offhook_of(request)

    def work() -> tuple[int, str]:
        with app.store.session() as session:
            owner = session.get(User, _number(form.get("user_id")))
            if owner is None:
                raise LineConfigError("choose whose line it is")
            system = session.get(PhoneSystem, _number(form.get("phone_system_id")))
            if system is None:
                raise LineConfigError("choose the phone system the line is on")
            options = read_fields(driver_class(system.driver).LineOptions, form)
            add_line(
                session, owner, system, form.get("address", ""), form.get("label", ""), options
            )
            return system.id, system.driver

    try:
        system_id, driver = await asyncio.to_thread(work)
    except FormErrors as exc:
        context = await asyncio.to_thread(_lines_context, request, user)
        return render(
            request,
            "settings/lines.html",
            user,
            status_code=422,
            form=form,
            error=str(exc),
            **context,
        )
    await _lines_changed(request, system_id, driver, "Line added.")
    return _see_other("/settings/lines")


async def _lines_changed(request: Request, system_id: int, driver: str, done: str) -> None:
    app = offhook_of(request)
    try:
        await app.lines.lines_changed(system_id)
    except LineError as exc:
        flash(request, f"{done} It could not start: {exc}", "error")
        return
    if driver in app.lines.loaded:
        flash(request, done)
    else:
        flash(request, done + f" It works once the {driver} driver is loaded.")


def _own_line(request: Request, user: CurrentUser, line_id: int, admin: bool) -> Line:
    with offhook_of(request).store.session() as session:
        line = session.scalar(
            select(Line).where(Line.id == line_id).options(joinedload(Line.phone_system))
        )
        if line is None or (not user.is_admin and line.user_id != user.id):
            raise HTTPException(404, N_("There is no such line."))
        if admin and not user.is_admin:
            raise HTTPException(403, N_("Only an administrator may change lines."))
        session.expunge_all()
        return line


def _shared(request: Request, line: Line) -> bool:
    """Whether other users' lines are on the line's phone system too."""
    with offhook_of(request).store.session() as session:
        others = session.scalar(
            select(func.count(Line.id)).where(
                Line.phone_system_id == line.phone_system_id, Line.user_id != line.user_id
            )
        )
        return bool(others)


@router.post("/lines/{line_id}/restart")
async def restart_line(request: Request, line_id: int, user: User_) -> Response:
    """Restart the line's connection: its phone system. A user may do so for a phone system of
    their own (a softphone); one that serves colleagues too is the admin's to restart."""
    line = await asyncio.to_thread(_own_line, request, user, line_id, False)
    app = offhook_of(request)
    if not user.is_admin and await asyncio.to_thread(_shared, request, line):
        raise HTTPException(
            403,
            "Your line shares its phone system with colleagues; an administrator can restart it.",
        )
    if line.driver not in app.lines.loaded:
        flash(
            request,
            _("The {driver} driver is not loaded; an admin can load it.").format(
                driver=line.driver
            ),
            "error",
        )
    else:
        try:
            await app.lines.start_system(line.phone_system_id)
            flash(request, N_("Line restarted."))
        except LineError as exc:
            flash(request, str(exc), "error")
    return _see_other("/settings/lines")


async def _switch_line(request: Request, user: CurrentUser, line_id: int, on: bool) -> Response:
    line = await asyncio.to_thread(_own_line, request, user, line_id, True)

    def work() -> None:
        with offhook_of(request).store.session() as session:
            row = session.get(Line, line_id)
            if row is not None:
                row.enabled = on

    await asyncio.to_thread(work)
    done = "Line switched on." if on else "Line switched off."
    await _lines_changed(request, line.phone_system_id, line.driver, done)
    return _see_other("/settings/lines")


@router.post("/lines/{line_id}/enable")
async def enable_line(request: Request, line_id: int, user: Admin) -> Response:
    return await _switch_line(request, user, line_id, True)


@router.post("/lines/{line_id}/disable")
async def disable_line(request: Request, line_id: int, user: Admin) -> Response:
    return await _switch_line(request, user, line_id, False)


@router.post("/lines/{line_id}/options")
async def line_options(request: Request, line_id: int, user: Admin) -> Response:
    line = await asyncio.to_thread(_own_line, request, user, line_id, True)
    form = await _form(request)

    def work() -> None:
        cls = driver_class(line.driver)
        with offhook_of(request).store.session() as session:
            row = session.get(Line, line_id)
            if row is not None:
                merged = {**row.options, **read_fields(cls.LineOptions, form)}
                row.options = validate_options(line.driver, merged, "line")

    try:
        await asyncio.to_thread(work)
    except FormErrors as exc:
        flash(request, str(exc), "error")
        return _see_other("/settings/lines")
    await _lines_changed(request, line.phone_system_id, line.driver, "Line saved.")
    return _see_other("/settings/lines")


@router.get("/lines/{line_id}/delete")
async def confirm_delete_line(request: Request, line_id: int, user: Admin) -> Response:
    line = await asyncio.to_thread(_own_line, request, user, line_id, True)
    return render(request, "settings/line_delete.html", user, line=line)


@router.post("/lines/{line_id}/delete")
async def delete_line(request: Request, line_id: int, user: Admin) -> Response:
    line = await asyncio.to_thread(_own_line, request, user, line_id, True)

    def work() -> bool:
        with offhook_of(request).store.session() as session:
            row = session.get(Line, line_id)
            if row is None:
                return False
            system = row.phone_system
            session.delete(row)
            session.flush()
            left = session.scalar(
                select(func.count(Line.id)).where(Line.phone_system_id == system.id)
            )
            # A softphone's phone system is the line: it goes with it.
            info = available_drivers().get(system.driver)
            if info and info.driver and info.driver.max_lines == 1 and not left:
                session.delete(system)
                return True
            return False

    system_gone = await asyncio.to_thread(work)
    if system_gone:
        await offhook_of(request).lines.stop_system(line.phone_system_id)
        flash(request, N_("Line deleted, with its call history."))
    else:
        await _lines_changed(
            request, line.phone_system_id, line.driver, "Line deleted, with its call history."
        )
    return _see_other("/settings/lines")
