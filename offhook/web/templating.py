"""Rendering pages: one Jinja environment, autoescaping on, and what every page needs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from offhook import __version__
from offhook.settings.telephony import SettingsCache
from offhook.web.context import offhook_of
from offhook.web.drivers import page_scripts
from offhook.web.security import CurrentUser, csrf_token

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
env = TEMPLATES.env
env.autoescape = True


def _page_basics(request: Request) -> tuple[Any, list[str]]:
    """The firm's time zone and the drivers' page scripts, in one trip to the store."""
    with offhook_of(request).store.session() as session:
        return SettingsCache.get(session).zone, page_scripts(session)


def minutes_text(minutes: int | None) -> str:
    if minutes is None:
        return ""
    hours, rest = divmod(int(minutes), 60)
    return f"{hours}:{rest:02d} h" if hours else f"{rest} min"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


env.filters["minutes"] = minutes_text
env.filters["duration"] = duration_text


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message shown once on the next page (after a redirect)."""
    # Assign a new list: the session only notices assignments, not changes inside a value.
    request.session["flash"] = [*request.session.get("flash", []), {"kind": kind, "text": message}]


def render(
    request: Request,
    template: str,
    user: CurrentUser | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    app = offhook_of(request)
    zone, scripts = _page_basics(request)

    def local(value: datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value else ""

    def day(value: date | None) -> str:
        return value.strftime("%d.%m.%Y") if value else ""

    messages = request.session.pop("flash", []) if "session" in request.scope else []
    base = {
        "request": request,
        "user": user,
        "csrf": csrf_token(request),
        "demo": app.demo,
        "version": __version__,
        "local": local,
        "day": day,
        "now": datetime.now(UTC).astimezone(zone),
        "messages": messages,
        "path": request.url.path,
        "driver_scripts": scripts if user is not None else [],
    }
    return TEMPLATES.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )
