"""The Today page: the user's lines, and their calls, activities and services of the day."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from offhook.crm.today import Today, today
from offhook.settings.telephony import SettingsCache
from offhook.web.context import offhook_of
from offhook.web.security import User_, csrf_protect
from offhook.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/")
async def index(request: Request, user: User_) -> Response:
    def work() -> Today:
        with offhook_of(request).store.session() as session:
            return today(session, user.id, SettingsCache.get(session))

    day = await asyncio.to_thread(work)
    statuses = {line.id: offhook_of(request).lines.status(line.id) for line in day.lines}
    return render(
        request,
        "today.html",
        user,
        statuses=statuses,
        services=day.services,
        activities=day.activities,
        minutes=day.minutes,
        calls_today=day.calls_today,
        missed=day.missed,
        lines=day.lines,
        last_week=day.last_week,
    )
