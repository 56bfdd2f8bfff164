"""Who is asking: session cookie or API token, roles, and CSRF protection for forms."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from offhook.settings import language
from offhook.settings.language import N_, _
from offhook.settings.sessions import end_session, session_user, start_session
from offhook.settings.touches import Touches
from offhook.settings.users import user_for_token
from offhook.store.models import User
from offhook.web.context import offhook_of

log = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
FORM_EXPIRED = N_("This form has expired or did not come from offhook. Reload the page and retry.")
# A form's bounds: one file (the import), the fields of the widest form (an import's column
# mapping), and a long note per field.
FORM_MAX_FILES = 1
FORM_MAX_FIELDS = 1000
FORM_MAX_PART = 256 * 1024


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: int
    login: str
    name: str
    role: str
    extension: str | None
    by_token: bool = False
    #: The locale the user chose (Settings › Profile); None: as their browser asks.
    locale: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def of(cls, user: User, session: Session, by_token: bool = False) -> CurrentUser:
        locale = language.choice_of(session, user.id)
        return cls(user.id, user.login, user.name, user.role, user.extension, by_token, locale)


def speak_as(request: Request, user: CurrentUser) -> None:
    """Everything of this request (pages, messages, errors) in the user's language."""
    choice: dict[str, object] | None = {"locale": user.locale} if user.locale else None
    language.activate(language.chosen(choice, request.headers.get("accept-language")))


class LoginRequired(Exception):
    """Raised for pages; answered with a redirect to the login page."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


# The signed cookie keeps the session's id (the authority is its row in the store), its CSRF
# token and the messages for the next page.
SESSION_ID = "sid"


def log_in(request: Request, user: User, db: Session) -> None:
    """Start a server-side session for `user` in this browser."""
    request.session.clear()  # a fresh session on login: no fixation
    request.session[SESSION_ID] = start_session(
        db, user, offhook_of(request).config.session_max_age
    )
    csrf_token(request)


def log_out(request: Request, db: Session) -> None:
    session_id = request.session.get(SESSION_ID)
    if isinstance(session_id, str):
        end_session(db, session_id)
    request.session.clear()


API_LOGIN = N_("Log in or send an API token (Authorization: Bearer …).")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _space, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


#: How long after a token's or session's use is noted it is written (see `touches`).
TOUCH_DELAY = 2.0


def _touches(request: Request) -> Touches:
    state = request.app.state
    if not hasattr(state, "touches"):
        state.touches = Touches()
        state.touch_writer = None
    touches: Touches = state.touches
    return touches


def _write_touches_soon(request: Request) -> None:
    """Write the noted uses in a moment, together (one writer at a time)."""
    state = request.app.state
    if not state.touches.pending or (
        state.touch_writer is not None and not state.touch_writer.done()
    ):
        return
    app = offhook_of(request)

    async def write() -> None:
        await asyncio.sleep(TOUCH_DELAY)

        def work() -> None:
            with app.store.session() as session:
                state.touches.write(session)

        try:
            await asyncio.to_thread(work)
        except Exception as exc:  # a "last used" a little older: nothing to fail a request on
            log.warning("could not note when tokens and sessions were last used: %s", exc)

    state.touch_writer = asyncio.get_running_loop().create_task(write(), name="note last use")


async def current_user(request: Request) -> CurrentUser:
    app = offhook_of(request)
    token = _bearer(request)
    touches = _touches(request)
    # Who is asking is read with `Store.read`: should the database drop the connection under
    # it, the check runs once more instead of answering 500. Its only write (an ended
    # session's removal) is the same the second time; a token's or session's last use is
    # noted and written later, together with others' (see `offhook.settings.touches`).
    if token is not None:

        def by_token(session: Session) -> CurrentUser | None:
            user = user_for_token(session, token, touches)
            return CurrentUser.of(user, session, by_token=True) if user is not None else None

        found = await asyncio.to_thread(app.store.read_only, by_token)
        _write_touches_soon(request)
        if found is None:
            raise HTTPException(401, _("This API token is not valid (any more)."))
        speak_as(request, found)
        return found
    session_id = request.session.get(SESSION_ID)
    if isinstance(session_id, str):
        idle = app.config.session_idle

        def by_session(session: Session) -> CurrentUser | None:
            user = session_user(session, session_id, idle, touches=touches)
            return CurrentUser.of(user, session) if user is not None else None

        current = await asyncio.to_thread(app.store.read, by_session)
        _write_touches_soon(request)
        if current is not None:
            speak_as(request, current)
            return current
        request.session.clear()  # the session ended: its CSRF token and messages with it
    if _is_api(request):
        raise HTTPException(401, _(API_LOGIN))
    raise LoginRequired


async def csrf_protect(request: Request) -> None:
    """Unsafe requests made with the session cookie must carry the session's CSRF token."""
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    if _is_api(request) and request.session.get(SESSION_ID) is None:
        # Neither a token nor a session: say what is missing, not that a form expired.
        raise HTTPException(401, _(API_LOGIN))
    expected = request.session.get("csrf")
    if not expected:
        raise HTTPException(403, _(FORM_EXPIRED))  # before the body is read: it cannot help
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        # The first read of the form, so its bounds hold for every later one (it is kept).
        form = await request.form(
            max_files=FORM_MAX_FILES, max_fields=FORM_MAX_FIELDS, max_part_size=FORM_MAX_PART
        )
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(str(expected), sent):
        raise HTTPException(403, _(FORM_EXPIRED))


async def admin_user(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
    if not user.is_admin:
        raise HTTPException(403, _("Only an administrator may do this."))
    return user


User_ = Annotated[CurrentUser, Depends(current_user)]
Admin = Annotated[CurrentUser, Depends(admin_user)]
