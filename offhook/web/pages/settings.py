"""Settings: Telephony, Users, and one's own profile (phone systems, lines and drivers are in
`phone_systems`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from offhook.settings.telephony import TelephonySettings
from offhook.settings.users import AuthError, add_user, create_token, hash_password, verify_password
from offhook.store.models import ApiToken, ServiceType, User
from offhook.web.context import offhook_of
from offhook.web.security import Admin, CurrentUser, User_, csrf_protect, log_in
from offhook.web.templating import flash, render

router = APIRouter(
    prefix="/settings", dependencies=[Depends(csrf_protect)], include_in_schema=False
)


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.get("")
async def index(request: Request, user: User_) -> Response:
    return render(request, "settings/index.html", user)


# --- Telephony ---------------------------------------------------------------------------------

TELEPHONY_FIELDS = (
    "country",
    "area_code",
    "outside_line",
    "internal_max_length",
    "service_type_id",
    "rounding_step",
    "rounding_mode",
    "rounding_minimum",
    "timezone",
)


def _telephony_page(
    request: Request,
    user: CurrentUser,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    def load_types() -> list[ServiceType]:
        with offhook_of(request).store.session() as session:
            return list(
                session.scalars(
                    select(ServiceType)
                    .where(ServiceType.active.is_(True))
                    .order_by(ServiceType.name)
                )
            )

    return render(
        request,
        "settings/telephony.html",
        user,
        status_code=status_code,
        values=values,
        errors=errors,
        service_types=load_types(),
    )


@router.get("/telephony")
async def telephony(request: Request, user: Admin) -> Response:
    def work() -> dict[str, Any]:
        with offhook_of(request).store.session() as session:
            return TelephonySettings.load(session).model_dump()

    values = await asyncio.to_thread(work)
    return await asyncio.to_thread(_telephony_page, request, user, values, {})


@router.post("/telephony")
async def save_telephony(request: Request, user: Admin) -> Response:
    form = await _form(request)
    raw: dict[str, Any] = {key: form.get(key, "").strip() for key in TELEPHONY_FIELDS}
    raw["incoming_with_outside_line"] = form.get("incoming_with_outside_line") == "on"
    raw["service_type_id"] = raw["service_type_id"] or None
    try:
        settings = TelephonySettings.model_validate(raw)
    except ValidationError as exc:
        errors = {
            str(e["loc"][0]) if e["loc"] else "form": e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        }
        return await asyncio.to_thread(_telephony_page, request, user, raw, errors, 422)

    def work() -> bool:
        with offhook_of(request).store.session() as session:
            before = TelephonySettings.load(session).fingerprint()
            settings.save(session)
            return before != settings.fingerprint()

    renumber = await asyncio.to_thread(work)
    note = " Stored numbers are normalized again for the new settings." if renumber else ""
    on_change = getattr(offhook_of(request), "on_numbering_changed", None)
    if renumber and on_change is not None:
        on_change()
    flash(request, "Telephony settings saved; they apply from now on." + note)
    return _see_other("/settings/telephony")


# --- Users -------------------------------------------------------------------------------------


@router.get("/users")
async def users(request: Request, user: Admin) -> Response:
    def work() -> list[User]:
        with offhook_of(request).store.session() as session:
            return list(session.scalars(select(User).order_by(User.login)))

    return render(
        request,
        "settings/users.html",
        user,
        users=await asyncio.to_thread(work),
        form={},
        error=None,
    )


@router.post("/users")
async def create_user(request: Request, user: Admin) -> Response:
    form = await _form(request)

    def work() -> None:
        with offhook_of(request).store.session() as session:
            add_user(
                session,
                form.get("login", ""),
                form.get("name", ""),
                form.get("password", ""),
                form.get("role", "user"),
                form.get("extension", "").strip() or None,
                form.get("email", "").strip() or None,
            )

    try:
        await asyncio.to_thread(work)
    except AuthError as exc:

        def load() -> list[User]:
            with offhook_of(request).store.session() as session:
                return list(session.scalars(select(User).order_by(User.login)))

        form.pop("password", None)
        return render(
            request,
            "settings/users.html",
            user,
            status_code=422,
            users=await asyncio.to_thread(load),
            form=form,
            error=str(exc),
        )
    flash(request, f"User {form.get('login')} added.")
    return _see_other("/settings/users")


@router.post("/users/{user_id}")
async def change_user(request: Request, user_id: int, user: Admin) -> Response:
    form = await _form(request)
    action = form.get("action", "")

    def work() -> str:
        with offhook_of(request).store.session() as session:
            target = session.get(User, user_id)
            if target is None:
                raise HTTPException(404, "There is no such user.")
            if action == "password":
                target.password_hash = hash_password(form.get("password", ""))
                return f"New password set for {target.login}."
            if target.id == user.id:
                raise AuthError("you cannot change your own role or deactivate yourself")
            if action == "role":
                target.role = "admin" if form.get("role") == "admin" else "user"
                return f"{target.login} is now {target.role}."
            if action in ("activate", "deactivate"):
                target.active = action == "activate"
                return f"{target.login} is {'active' if target.active else 'deactivated'}."
            raise AuthError("unknown action")

    try:
        flash(request, await asyncio.to_thread(work))
    except AuthError as exc:
        flash(request, str(exc), "error")
    return _see_other("/settings/users")


# --- Profile -----------------------------------------------------------------------------------


@router.get("/profile")
async def profile(request: Request, user: User_) -> Response:
    def work() -> list[ApiToken]:
        with offhook_of(request).store.session() as session:
            return list(
                session.scalars(
                    select(ApiToken)
                    .where(ApiToken.user_id == user.id)
                    .order_by(ApiToken.created_at)
                )
            )

    new_token = request.session.pop("new_token", None)
    return render(
        request,
        "settings/profile.html",
        user,
        tokens=await asyncio.to_thread(work),
        new_token=new_token,
    )


@router.post("/profile")
async def change_profile(request: Request, user: User_) -> Response:
    form = await _form(request)
    action = form.get("action", "")
    app = offhook_of(request)

    def work() -> str:
        with app.store.session() as session:
            me = session.get(User, user.id)
            assert me is not None
            if action == "password":
                if not verify_password(me, form.get("current", "")):
                    raise AuthError("your current password is not right")
                if form.get("password") != form.get("confirm"):
                    raise AuthError("the new passwords do not match")
                me.password_hash = hash_password(form.get("password", ""))
                session.flush()
                log_in(request, me)  # keep this session; every other one is logged out
                return "Password changed. Other sessions are logged out."
            if action == "token":
                request.session["new_token"] = create_token(session, me, form.get("name", ""))
                return "API token created. Copy it now: it is shown only once."
            if action == "revoke":
                token = session.get(ApiToken, int(form.get("token_id") or 0))
                if token is None or token.user_id != me.id:
                    raise AuthError("no such token")
                session.delete(token)
                return "Token revoked."
            raise AuthError("unknown action")

    try:
        flash(request, await asyncio.to_thread(work))
    except AuthError as exc:
        flash(request, str(exc)[:1].upper() + str(exc)[1:] + ".", "error")
    return _see_other("/settings/profile")
