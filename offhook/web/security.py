"""Who is asking: session cookie or API token, roles, and CSRF protection for forms."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from offhook.settings.users import session_stamp, user_for_token
from offhook.store.models import User
from offhook.web.context import offhook_of

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: int
    login: str
    name: str
    role: str
    extension: str | None
    by_token: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def of(cls, user: User, by_token: bool = False) -> CurrentUser:
        return cls(user.id, user.login, user.name, user.role, user.extension, by_token)


class LoginRequired(Exception):
    """Raised for pages; answered with a redirect to the login page."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def log_in(request: Request, user: User) -> None:
    request.session.clear()  # a fresh session on login: no fixation
    request.session["uid"] = user.id
    request.session["stamp"] = session_stamp(user)
    csrf_token(request)


API_LOGIN = "Log in or send an API token (Authorization: Bearer …)."


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


async def current_user(request: Request) -> CurrentUser:
    app = offhook_of(request)
    token = _bearer(request)
    if token is not None:
        with app.store.session() as session:
            user = user_for_token(session, token)
            if user is None:
                raise HTTPException(401, "This API token is not valid (any more).")
            return CurrentUser.of(user, by_token=True)
    uid = request.session.get("uid")
    if uid is not None:
        with app.store.session() as session:
            user = session.get(User, int(uid))
            if (
                user is not None
                and user.active
                and request.session.get("stamp") == session_stamp(user)
            ):
                return CurrentUser.of(user)
        request.session.clear()
    if _is_api(request):
        raise HTTPException(401, API_LOGIN)
    raise LoginRequired


async def csrf_protect(request: Request) -> None:
    """Unsafe requests made with the session cookie must carry the session's CSRF token."""
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    if _is_api(request) and request.session.get("uid") is None:
        # Neither a token nor a session: say what is missing, not that a form expired.
        raise HTTPException(401, API_LOGIN)
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise HTTPException(
            403, "This form has expired or did not come from offhook. Reload the page and retry."
        )


async def admin_user(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
    if not user.is_admin:
        raise HTTPException(403, "Only an administrator may do this.")
    return user


User_ = Annotated[CurrentUser, Depends(current_user)]
Admin = Annotated[CurrentUser, Depends(admin_user)]
