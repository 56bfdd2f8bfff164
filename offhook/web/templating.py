"""Rendering pages: one Jinja environment, autoescaping on, and what every page needs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader

from offhook import __version__
from offhook.calls import labels
from offhook.crm import calls
from offhook.lines.reasons import reason_text
from offhook.settings import clock, language
from offhook.settings.number_problems import problem_text
from offhook.settings.telephony import SettingsCache
from offhook.web.context import offhook_of
from offhook.web.drivers import PageAssets, page_assets
from offhook.web.journal_texts import PAGE_TEXTS, journal_texts, translated
from offhook.web.security import CurrentUser, csrf_token

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
env = TEMPLATES.env
env.autoescape = True


def _page_basics(request: Request) -> tuple[Any, PageAssets]:
    """The firm's time zone and the drivers' page scripts and styles, in one trip to the
    store."""
    with offhook_of(request).store.session() as session:
        return SettingsCache.get(session).zone, page_assets(session)


env.add_extension("jinja2.ext.i18n")
# The texts of the request's locale (language.activate, in render): one environment serves all.
env.install_gettext_callables(  # type: ignore[attr-defined]
    language.gettext, language.ngettext, newstyle=True
)
env.globals["number_text"] = language.number_text
env.filters["number"] = language.number_text  # 1’234 (de-CH), 1.234 (de-DE), 1,234 (en)
env.filters["minutes"] = clock.minutes_text
env.filters["line_reason"] = reason_text  # a line's reason, given in English
env.filters["number_problem"] = problem_text  # a number's problem, stored in English
env.filters["duration"] = clock.duration_text
env.globals["call_outcome"] = calls.outcome  # its label translated (labels.answered_by_text)
env.globals["call_label"] = lambda direction: language.gettext(labels.call_label(direction))
# Macros see only the environment's globals; a day needs no time zone.
env.globals["date_text"] = clock.date_text
env.globals["field_date"] = clock.field_date
# A journal entry's instants are ISO texts (its JSON form); pages show them as dates and times.
env.filters["instant"] = datetime.fromisoformat


def _translated(message: dict[str, str]) -> dict[str, str]:
    written = message["text"]
    return {**message, "text": language.gettext(written)}


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
    zone, assets = _page_basics(request)
    # The request's language: the user's (security.current_user), else the browser's (an
    # error page, the login page).
    locale = language.current()

    def date_text(value: date | datetime | None) -> str:
        return clock.date_text(value, zone)

    def time_text(value: datetime | None, seconds: bool = False) -> str:
        return clock.time_text(value, zone, seconds)

    def datetime_text(value: datetime | None, seconds: bool = False) -> str:
        return clock.datetime_text(value, zone, seconds)

    def span_text(start: datetime | None, end: datetime | None) -> str:
        return clock.span_text(start, end, zone)

    def weekday_text(value: date | datetime | None) -> str:
        return clock.weekday_text(value, zone)

    def long_date_text(value: date | datetime | None) -> str:
        return clock.long_date_text(value, zone)

    messages = request.session.pop("flash", []) if "session" in request.scope else []
    # Messages are kept as written (N_ marks them) and shown in the user's language.
    messages = [_translated(message) for message in messages]
    base = {
        "request": request,
        "user": user,
        "csrf": csrf_token(request),
        "demo": app.demo,
        "version": __version__,
        "date_text": date_text,
        "time_text": time_text,
        "datetime_text": datetime_text,
        "weekday_text": weekday_text,
        "span_text": span_text,
        "lang": locale,
        "zone_name": getattr(zone, "key", ""),
        "locales": language.LOCALES,
        "journal_texts": journal_texts,
        "script_texts": translated,
        "page_texts": PAGE_TEXTS,
        "long_date_text": long_date_text,
        "now": datetime.now(UTC).astimezone(zone),
        "messages": messages,
        "path": request.url.path,
        "driver_assets": assets if user is not None else PageAssets([], []),
    }
    return TEMPLATES.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )


def add_template_dir(directory: Path) -> None:
    """Let pages render templates from `directory` too (a driver's own pages), after offhook's;
    they extend "base.html" like any page. Adding the same directory again changes nothing."""
    current = env.loader
    loaders: list[BaseLoader] = []
    if isinstance(current, ChoiceLoader):
        loaders = list(current.loaders)
    elif current is not None:
        loaders = [current]
    for loader in loaders:
        if isinstance(loader, FileSystemLoader) and str(directory) in loader.searchpath:
            return
    env.loader = ChoiceLoader([*loaders, FileSystemLoader(str(directory))])
