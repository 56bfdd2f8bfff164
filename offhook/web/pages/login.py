"""Log in and log out."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from offhook.settings.language import _
from offhook.settings.login_throttle import LoginThrottle
from offhook.settings.users import authenticate
from offhook.web.context import offhook_of
from offhook.web.security import csrf_protect, log_in, log_out
from offhook.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


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
    address = request.client.host if request.client else ""
    wait = throttle.attempt(login, address)
    if wait:
        return render(
            request,
            "login.html",
            None,
            status_code=429,
            next=_safe_next(next),
            error=f"Too many attempts; try again in {wait} second{'s' if wait != 1 else ''}.",
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
        throttle.unchecked(login, address)  # no password was compared: no failure to count
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
    throttle.succeeded(login, address)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    def work() -> None:
        with offhook_of(request).store.session() as session:
            log_out(request, session)

    await asyncio.to_thread(work)
    return RedirectResponse("/login", status_code=303)
