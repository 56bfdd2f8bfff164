"""The call history: every call on the user's lines, never deleted, and one call in full."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from offhook.calls import labels
from offhook.crm import calls
from offhook.crm.forms import parse_day
from offhook.crm.paging import page_number
from offhook.settings.telephony import SettingsCache
from offhook.web.common import FromDay, PageNo, Text, ToDay, in_session, not_found, page, pager
from offhook.web.security import User_, csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/calls")
async def index(
    request: Request,
    user: User_,
    first: FromDay = "",
    last: ToDay = "",
    direction: Text = "",
    outcome: Text = "",
    q: Text = "",
    of: Text = "",
    page_: PageNo = "1",
) -> Response:
    start, end = parse_day(first), parse_day(last)
    # Admins may look at anybody's calls; everybody else sees their own, whatever they ask.
    owner = int(of) if user.is_admin and of.isdigit() else user.id
    flt = calls.CallFilter(owner, start, end, direction, outcome, q.strip())

    def work(session: Session) -> dict[str, Any]:
        settings = SettingsCache.get(session)
        found = calls.history(session, flt, settings, page_number(page_))
        return {"page": found, "users": calls.users(session) if user.is_admin else []}

    data = await in_session(request, work)
    return page(
        request,
        "calls/index.html",
        user,
        flt=flt,
        first=start or first,
        last=end or last,
        directions=labels.DIRECTION_LABELS,
        outcomes=labels.OUTCOME_LABELS,
        pager=pager(request, data["page"]),
        filtered=bool(first or last or direction or outcome or q),
        bad_dates=bool((first and not start) or (last and not end)),
        **data,
    )


@router.get("/calls/{call_id}")
async def show(request: Request, call_id: int, user: User_) -> Response:
    def work(session: Session) -> dict[str, Any]:
        call = calls.find_call(session, call_id, user.id, user.is_admin)
        if call is None:
            raise not_found("call", of_user=True)
        return calls.detail(session, call, SettingsCache.get(session))

    return page(request, "calls/show.html", user, **await in_session(request, work))
