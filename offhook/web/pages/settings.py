"""Settings: Telephony, Users, and one's own profile (phone systems, lines and drivers are in
`phone_systems`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from offhook.settings import language
from offhook.settings import users as accounts
from offhook.settings.language import N_, _
from offhook.settings.telephony import TelephonySettings, replace_settings, service_types
from offhook.settings.users import AuthError, UserNotFound
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
            return service_types(session)

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
            return replace_settings(session, settings)

    renumber = await asyncio.to_thread(work)
    note = " Stored numbers are normalized again for the new settings." if renumber else ""
    on_change = getattr(offhook_of(request), "on_numbering_changed", None)
    if renumber and on_change is not None:
        on_change()
    flash(request, N_("Telephony settings saved; they apply from now on.") + note)
    return _see_other("/settings/telephony")


# --- Users -------------------------------------------------------------------------------------


def _all_users(request: Request) -> list[User]:
    with offhook_of(request).store.session() as session:
        return accounts.all_users(session)


@router.get("/users")
async def users(request: Request, user: Admin) -> Response:
    return render(
        request,
        "settings/users.html",
        user,
        users=await asyncio.to_thread(_all_users, request),
        form={},
        error=None,
    )


@router.post("/users")
async def create_user(request: Request, user: Admin) -> Response:
    form = await _form(request)

    def work() -> None:
        with offhook_of(request).store.session() as session:
            accounts.add_user(
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
        form.pop("password", None)
        return render(
            request,
            "settings/users.html",
            user,
            status_code=422,
            users=await asyncio.to_thread(_all_users, request),
            form=form,
            error=str(exc),
        )
    flash(request, _("User {login} added.").format(login=form.get("login")))
    return _see_other("/settings/users")


async def _change_user(
    request: Request, change: Callable[[Session], str], url: str, as_sentence: bool = False
) -> Response:
    """Run one change in a transaction; its message, or the refusal (`as_sentence`: with a
    capital and a full stop), is flashed on `url`."""

    def work() -> str:
        with offhook_of(request).store.session() as session:
            return change(session)

    try:
        flash(request, await asyncio.to_thread(work))
    except UserNotFound as exc:
        raise HTTPException(404, N_("There is no such user.")) from exc
    except AuthError as exc:
        text = str(exc)
        flash(request, text[:1].upper() + text[1:] + "." if as_sentence else text, "error")
    return _see_other(url)


@router.post("/users/{user_id}/password")
async def set_password(request: Request, user_id: int, user: Admin) -> Response:
    password = (await _form(request)).get("password", "")

    def change(session: Session) -> str:
        target = accounts.set_password(session, user_id, password)
        return f"New password set for {target.login}."

    return await _change_user(request, change, "/settings/users")


@router.post("/users/{user_id}/role")
async def set_role(request: Request, user_id: int, user: Admin) -> Response:
    role = (await _form(request)).get("role", "")

    def change(session: Session) -> str:
        target = accounts.set_role(session, user_id, role, user.id)
        return f"{target.login} is now {target.role}."

    return await _change_user(request, change, "/settings/users")


async def _set_active(request: Request, user_id: int, user: CurrentUser, active: bool) -> Response:
    def change(session: Session) -> str:
        target = accounts.set_active(session, user_id, active, user.id)
        return f"{target.login} is {'active' if target.active else 'deactivated'}."

    return await _change_user(request, change, "/settings/users")


@router.post("/users/{user_id}/activate")
async def activate(request: Request, user_id: int, user: Admin) -> Response:
    return await _set_active(request, user_id, user, True)


@router.post("/users/{user_id}/deactivate")
async def deactivate(request: Request, user_id: int, user: Admin) -> Response:
    return await _set_active(request, user_id, user, False)


# --- Profile -----------------------------------------------------------------------------------


@router.get("/profile")
async def profile(request: Request, user: User_) -> Response:
    def work() -> tuple[list[ApiToken], str | None]:
        with offhook_of(request).store.session() as session:
            return accounts.tokens_of(session, user.id), language.choice_of(session, user.id)

    new_token = request.session.pop("new_token", None)
    tokens, chosen = await asyncio.to_thread(work)
    return render(
        request,
        "settings/profile.html",
        user,
        tokens=tokens,
        new_token=new_token,
        chosen_locale=chosen or "",
        browser_locale=language.negotiate(request.headers.get("accept-language")),
    )


@router.post("/profile/language")
async def choose_language(request: Request, user: User_) -> Response:
    """The user's language and formats; empty: as the browser asks."""
    wanted = (await _form(request)).get("locale", "")

    def work() -> None:
        with offhook_of(request).store.session() as session:
            language.keep_choice(session, user.id, wanted or None)

    await asyncio.to_thread(work)
    # Shown on the next page, in the language just chosen.
    flash(request, N_("Language and formats saved."))
    return RedirectResponse("/settings/profile", status_code=303)


@router.post("/profile/password")
async def change_password(request: Request, user: User_) -> Response:
    form = await _form(request)

    def change(session: Session) -> str:
        me = accounts.change_own_password(
            session,
            user.id,
            form.get("current", ""),
            form.get("password", ""),
            form.get("confirm", ""),
        )
        log_in(request, me, session)  # every session ended; this browser gets a new one
        return N_("Password changed. Other sessions are logged out.")

    return await _change_user(request, change, "/settings/profile", as_sentence=True)


@router.post("/profile/tokens")
async def create_token(request: Request, user: User_) -> Response:
    name = (await _form(request)).get("name", "")

    def change(session: Session) -> str:
        me = session.get(User, user.id)
        assert me is not None
        request.session["new_token"] = accounts.create_token(session, me, name)
        return N_("API token created. Copy it now: it is shown only once.")

    return await _change_user(request, change, "/settings/profile", as_sentence=True)


@router.post("/profile/tokens/{token_id}/delete")
async def revoke_token(request: Request, token_id: int, user: User_) -> Response:
    def change(session: Session) -> str:
        accounts.revoke_token(session, user.id, token_id)
        return N_("Token revoked.")

    return await _change_user(request, change, "/settings/profile", as_sentence=True)
