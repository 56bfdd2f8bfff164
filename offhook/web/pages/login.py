"""Log in and log out."""

from __future__ import annotations

import asyncio
import math
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from offhook.settings.language import _, ngettext
from offhook.settings.login_throttle import DEVICE_MAX_AGE, DeviceCookies, LoginThrottle
from offhook.settings.users import authenticate
from offhook.web.context import offhook_of
from offhook.web.security import csrf_protect, log_in, log_out
from offhook.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
#: The device cookie: this browser has logged in to an account before
#: (`offhook/settings/login_throttle.py`).
DEVICE_COOKIE = "offhook_device"


def _try_again(wait: int, known_device: bool) -> str:
    """When to try again; a browser without a device cookie learns that a known one can log in."""
    if wait < 120:
        if known_device:
            text = ngettext(
                "Too many attempts; try again in {count} second.",
                "Too many attempts; try again in {count} seconds.",
                wait,
            )
        else:
            text = ngettext(
                "Too many attempts; try again in {count} second. A browser you have logged in "
                "with before is not affected.",
                "Too many attempts; try again in {count} seconds. A browser you have logged in "
                "with before is not affected.",
                wait,
            )
        return text.format(count=wait)
    minutes = math.ceil(wait / 60)
    if known_device:
        text = ngettext(
            "Too many attempts; try again in {count} minute.",
            "Too many attempts; try again in {count} minutes.",
            minutes,
        )
    else:
        text = ngettext(
            "Too many attempts; try again in {count} minute. A browser you have logged in "
            "with before is not affected.",
            "Too many attempts; try again in {count} minutes. A browser you have logged in "
            "with before is not affected.",
            minutes,
        )
    return text.format(count=minutes)


def _safe_next(target: str) -> str:
    """Only ever redirect within offhook after login (no open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", None, next=_safe_next(next), error=None, login="")


@router.post("/login")
async def login(
    request: Request,
    login: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=2000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    throttle: LoginThrottle = request.app.state.login_throttle
    devices: DeviceCookies = request.app.state.device_cookies
    address = request.client.host if request.client else ""
    device = devices.device(request.cookies.get(DEVICE_COOKIE), login)
    wait = throttle.attempt(login, address, device)
    if wait:
        return render(
            request,
            "login.html",
            None,
            status_code=429,
            next=_safe_next(next),
            error=_try_again(wait, device is not None),
            login=login,
        )

    def check() -> bool:
        with offhook_of(request).store.session() as session:
            user = authenticate(session, login, password)
            if user is None:
                return False
            log_in(request, user, session)
            return True

    try:
        matched = await asyncio.to_thread(check)
    except Exception:
        throttle.unchecked(login, address, device)  # no password was compared: no failure to count
        raise
    if not matched:
        return render(
            request,
            "login.html",
            None,
            status_code=401,
            next=_safe_next(next),
            error=_("That login and password do not match."),
            login=login,
        )
    throttle.succeeded(login, address, device)
    response = RedirectResponse(_safe_next(next), status_code=303)
    # Renewed at each login; kept at logout: it vouches for the browser, not for a session.
    response.set_cookie(
        DEVICE_COOKIE,
        devices.issue(login, device),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=offhook_of(request).config.secure_cookies,
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    def work() -> None:
        with offhook_of(request).store.session() as session:
            log_out(request, session)

    await asyncio.to_thread(work)
    return RedirectResponse("/login", status_code=303)
