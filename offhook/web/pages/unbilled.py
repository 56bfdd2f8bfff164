"""The unbilled calls: the list to work to empty, the charts, and both as CSV.

Everybody sees their own calls; administrators may choose any user or the whole firm
(`of=<user id>` or `of=all`). Booking and marking "not billable" are the call owner's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_skeleton, get_day_names
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from offhook.crm import call_figures as figures
from offhook.crm import calls, unbilled
from offhook.crm.forms import parse_day
from offhook.crm.paging import page_number
from offhook.crm.services import today as firm_today
from offhook.settings.clock import date_text, duration_text, minutes_text
from offhook.settings.language import N_, _, babel_locale, number_text
from offhook.settings.telephony import SettingsCache, TelephonySettings
from offhook.store.models import Address
from offhook.web import charts
from offhook.web.common import (
    FromDay,
    PageNo,
    Text,
    ToDay,
    in_session,
    page,
    pager,
    read_form,
    ref,
    see_other,
)
from offhook.web.export import Cell, csv_response
from offhook.web.security import CurrentUser, User_, csrf_protect
from offhook.web.templating import flash

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

FIRM = "all"
EXPORT_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose calls a request is about: a user's, or (for administrators) the whole firm's."""

    user_id: int | None
    of: str  # the query parameter that names it, "" for one's own

    @property
    def firm(self) -> bool:
        return self.user_id is None


def scope_of(user: CurrentUser, of: str) -> Scope:
    """Administrators may look at anybody or at the firm; everybody else sees their own,
    whatever they ask for."""
    if user.is_admin:
        if of == FIRM:
            return Scope(None, FIRM)
        if of.isdigit() and int(of) != user.id:
            return Scope(int(of), of)
    return Scope(user.id, "")


def list_filter(
    user: CurrentUser, of: str, first: str, last: str, address: str, minimum: str
) -> unbilled.UnbilledFilter:
    scope = scope_of(user, of)
    minutes = int(minimum) if minimum.isdigit() else 0
    return unbilled.UnbilledFilter(
        scope.user_id,
        parse_day(first),
        parse_day(last),
        ref(address),
        min(minutes, unbilled.MAX_MINUTES_FILTER),
    )


def figures_filter(
    user: CurrentUser, of: str, first: str, last: str, settings: TelephonySettings
) -> figures.FiguresFilter:
    scope = scope_of(user, of)
    default_first, default_last = figures.default_period(firm_today(settings))
    start, end = parse_day(first) or default_first, parse_day(last) or default_last
    if end < start:
        start, end = end, start
    # A period of years would draw hundreds of weeks: two years at most.
    start = max(start, date(end.year - 2, end.month, 1))
    return figures.FiguresFilter(scope.user_id, start, end)


def _people(session: Session, user: CurrentUser) -> list[Any]:
    return calls.users(session) if user.is_admin else []


def _back(request: Request) -> str:
    query = request.url.query
    return "/unbilled" + (f"?{query}" if query else "")


@router.get("/unbilled")
async def index(
    request: Request,
    user: User_,
    of: Text = "",
    first: FromDay = "",
    last: ToDay = "",
    address: Text = "",
    page_: PageNo = "1",
) -> Response:
    minimum = request.query_params.get("min", "")[:10]
    flt = list_filter(user, of, first, last, address, minimum)

    def work(session: Session) -> dict[str, Any]:
        settings = SettingsCache.get(session)
        found = unbilled.unbilled(session, flt, settings, page_number(page_))
        chosen = session.get(Address, flt.address_id) if flt.address_id else None
        return {"page": found, "users": _people(session, user), "chosen": chosen}

    data = await in_session(request, work)
    scope = scope_of(user, of)
    return page(
        request,
        "unbilled/index.html",
        user,
        flt=flt,
        scope=scope,
        first=flt.first or first,
        last=flt.last or last,
        minimum=flt.min_minutes or "",
        pager=pager(request, data["page"]),
        filtered=bool(first or last or address or minimum),
        back=_back(request),
        export=f"/unbilled.csv?{request.url.query}" if request.url.query else "/unbilled.csv",
        **data,
    )


@router.post("/unbilled/{call_id}/not-billable")
async def mark(request: Request, call_id: int, user: User_) -> Response:
    form = await read_form(request)

    def work(session: Session) -> None:
        try:
            unbilled.mark_not_billable(session, user.id, call_id, form.get("reason"))
        except unbilled.NotMarkable as exc:
            raise HTTPException(404, str(exc)) from exc

    await in_session(request, work)
    flash(request, N_("Marked as not billable; it is off the list."))
    return see_other(_safe_back(form.get("back"), "/unbilled"))


@router.post("/unbilled/{call_id}/billable")
async def unmark(request: Request, call_id: int, user: User_) -> Response:
    form = await read_form(request)

    def work(session: Session) -> None:
        try:
            unbilled.unmark(session, user.id, call_id)
        except unbilled.NotMarkable as exc:
            raise HTTPException(404, str(exc)) from exc

    await in_session(request, work)
    flash(request, N_("The call is billable again and back on the list of unbilled calls."))
    return see_other(_safe_back(form.get("back"), f"/calls/{call_id}"))


def _safe_back(back: str, default: str) -> str:
    """Only a page of our own (an open redirect would send users anywhere)."""
    if back.startswith("/") and not back.startswith("//") and "\\" not in back:
        return back
    return default


@router.get("/unbilled.csv")
async def export_list(
    request: Request,
    user: User_,
    of: Text = "",
    first: FromDay = "",
    last: ToDay = "",
    address: Text = "",
) -> Response:
    flt = list_filter(user, of, first, last, address, request.query_params.get("min", "")[:10])

    def work(session: Session) -> list[list[Cell]]:
        settings = SettingsCache.get(session)
        return [unbilled_row(row) for row in unbilled.export(session, flt, settings, EXPORT_MAX)]

    rows = await in_session(request, work)
    return csv_response("unbilled-calls.csv", UNBILLED_HEADER, rows)


UNBILLED_HEADER = (
    "call id",
    "date",
    "time",
    "user",
    "direction",
    "number",
    "caller ID name",
    "address id",
    "address",
    "seconds",
)


def unbilled_row(row: unbilled.UnbilledRow) -> list[Cell]:
    entry = row.entry
    return [
        entry.id,
        entry.date,
        entry.time,
        row.owner,
        entry.direction.value,
        entry.number.display or entry.number.raw,
        entry.remote_name,
        entry.address.id if entry.address else None,
        entry.address.name if entry.address else None,
        entry.duration,
    ]


# --- charts --------------------------------------------------------------------------------------


def _hours(seconds: float) -> str:
    return duration_text(int(seconds)) if seconds < 3600 else minutes_text(int(seconds // 60))


def chart_tables(
    found: figures.Figures, shown: bool = False
) -> dict[str, tuple[tuple[str, ...], list[list[Cell]]]]:
    """Every chart's numbers as (header, rows): machine-readable for CSV (ISO days, English
    labels), or `shown` beside the charts: days and labels in the user's language (the page
    translates the headers, marked here for the catalogue)."""

    def label(text: str) -> str:
        return _(text) if shown else text

    tables: dict[str, tuple[tuple[str, ...], list[list[Cell]]]] = {
        "weeks": (
            (
                N_("week from"),
                N_("client calls"),
                N_("call minutes"),
                N_("booked minutes"),
                N_("unbooked calls"),
            ),
            [
                [
                    date_text(w.week) if shown else w.week.isoformat(),
                    w.time.calls,
                    w.time.seconds // 60,
                    w.time.booked_minutes,
                    w.time.unbooked,
                ]
                for w in found.weeks
            ],
        ),
        "hours": (
            (N_("hour"), N_("incoming calls"), N_("missed")),
            [[r.label, r.incoming, r.missed] for r in found.by_hour],
        ),
        "weekdays": (
            (N_("weekday"), N_("incoming calls"), N_("missed")),
            [[label(r.label), r.incoming, r.missed] for r in found.by_weekday],
        ),
        "callbacks": (
            (N_("missed calls called back"), N_("calls")),
            [[label(r.label), r.calls] for r in found.callbacks],
        ),
        "callers": (
            (N_("address id"), N_("address"), N_("calls"), N_("connected minutes")),
            [[r.address_id, r.name, r.calls, r.seconds // 60] for r in found.top_callers],
        ),
    }
    if found.filter.user_id is None:
        tables["users"] = (
            (
                N_("user"),
                N_("client calls"),
                N_("call minutes"),
                N_("booked minutes"),
                N_("unbooked calls"),
            ),
            [
                [
                    u.name,
                    u.time.calls,
                    u.time.seconds // 60,
                    u.time.booked_minutes,
                    u.time.unbooked,
                ]
                for u in found.users
            ],
        )
    return tables


def chart_drawings(found: figures.Figures) -> dict[str, charts.Chart]:
    weeks = found.weeks
    every = max(1, len(weeks) // 7)

    def minutes(value: float) -> str:
        return minutes_text(int(value)) if value else "0"

    # Drawn for this page only: every text in the user's language.
    drawings = {
        "weeks": charts.columns(
            "chart-weeks",
            _("Time on the phone with clients and time booked, per week"),
            _(
                "For each week: minutes of connected calls with clients, and minutes booked as "
                "services made of those calls."
            ),
            [format_skeleton("MMMd", w.week, locale=babel_locale()) for w in weeks],
            [
                charts.Series(_("On the phone"), "a", [w.time.seconds / 60 for w in weeks]),
                charts.Series(_("Booked"), "b", [float(w.time.booked_minutes) for w in weeks]),
            ],
            minutes,
            every,
        ),
        "hours": charts.columns(
            "chart-hours",
            _("Incoming calls per hour of the day"),
            _("Incoming calls and missed calls, by the hour they rang."),
            [r.label[:2] for r in found.by_hour],
            _incoming_and_missed(found.by_hour),
            _count,
            3,
        ),
        "weekdays": charts.columns(
            "chart-weekdays",
            _("Incoming calls per weekday"),
            _("Incoming calls and missed calls, by weekday."),
            list(get_day_names("abbreviated", locale=babel_locale()).values()),
            _incoming_and_missed(found.by_weekday),
            _count,
        ),
        "callbacks": charts.rows(
            "chart-callbacks",
            _("Missed calls, and how soon they were called back"),
            _("Missed calls by how long it took until anybody of the firm called the number."),
            [_(r.label) for r in found.callbacks],
            [charts.Series(_("Missed calls"), "a", [float(r.calls) for r in found.callbacks])],
            _count,
        ),
        "callers": charts.rows(
            "chart-callers",
            _("Top callers"),
            _("The addresses with the most calls in the period."),
            [r.name for r in found.top_callers],
            [charts.Series(_("Calls"), "a", [float(r.calls) for r in found.top_callers])],
            _count,
        ),
    }
    if found.filter.user_id is None:
        drawings["users"] = charts.rows(
            "chart-users",
            _("Time on the phone with clients and time booked, per user"),
            _("For each user: minutes of connected calls with clients, and minutes booked."),
            [u.name for u in found.users],
            [
                charts.Series(_("On the phone"), "a", [u.time.seconds / 60 for u in found.users]),
                charts.Series(
                    _("Booked"), "b", [float(u.time.booked_minutes) for u in found.users]
                ),
            ],
            minutes,
        )
    return drawings


def _incoming_and_missed(rows: list[figures.RingRow]) -> list[charts.Series]:
    """The two columns of the calls-by-time charts (per hour, per weekday)."""
    return [
        charts.Series(_("Incoming"), "a", [float(r.incoming) for r in rows]),
        charts.Series(_("Missed"), "b", [float(r.missed) for r in rows]),
    ]


def _count(value: float) -> str:
    return number_text(int(value))  # 1’234 (de-CH), 1.234 (de-DE), 1,234 (en)


@router.get("/unbilled/charts")
async def chart_page(
    request: Request, user: User_, of: Text = "", first: FromDay = "", last: ToDay = ""
) -> Response:
    def work(session: Session) -> dict[str, Any]:
        settings = SettingsCache.get(session)
        flt = figures_filter(user, of, first, last, settings)
        return {
            "found": figures.all_figures(session, flt, settings),
            "users": _people(session, user),
        }

    data = await in_session(request, work)
    found: figures.Figures = data["found"]
    query = urlencode(
        {"of": scope_of(user, of).of, "from": found.filter.first, "to": found.filter.last}
    )
    return page(
        request,
        "unbilled/charts.html",
        user,
        scope=scope_of(user, of),
        flt=found.filter,
        tables=chart_tables(found, shown=True),
        drawings=chart_drawings(found),
        total=found.total,
        query=query,
        **data,
    )


@router.get("/unbilled/charts/{name}.csv")
async def export_chart(
    request: Request,
    name: str,
    user: User_,
    of: Text = "",
    first: FromDay = "",
    last: ToDay = "",
) -> Response:
    def work(session: Session) -> figures.Figures:
        settings = SettingsCache.get(session)
        return figures.all_figures(
            session, figures_filter(user, of, first, last, settings), settings
        )

    tables = chart_tables(await in_session(request, work))
    if name not in tables:
        raise HTTPException(404, N_("There is no such chart."))
    header, rows = tables[name]
    return csv_response(f"calls-{name}.csv", header, rows)
