"""Log in, log out, and the Today page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from offhook.settings.telephony import SettingsCache
from offhook.settings.users import authenticate
from offhook.store.models import Activity, Call, Line, Service
from offhook.web.context import offhook_of
from offhook.web.security import User_, csrf_protect, log_in
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
    def check() -> Any:
        with offhook_of(request).store.session() as session:
            return authenticate(session, login, password)

    user = await asyncio.to_thread(check)
    if user is None:
        return render(
            request,
            "login.html",
            None,
            status_code=401,
            next=_safe_next(next),
            error="That login and password do not match.",
            login=login,
        )
    log_in(request, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
async def today(request: Request, user: User_) -> Response:
    def work() -> dict[str, Any]:
        with offhook_of(request).store.session() as session:
            settings = SettingsCache.get(session)
            start, end = settings.local_day_bounds()
            local_today = datetime.now(UTC).astimezone(settings.zone).date()
            services = list(
                session.scalars(
                    select(Service)
                    .where(Service.user_id == user.id, Service.day == local_today)
                    .options(joinedload(Service.project), joinedload(Service.address))
                    .order_by(Service.started_at, Service.id)
                )
            )
            activities = list(
                session.scalars(
                    select(Activity)
                    .where(
                        Activity.user_id == user.id,
                        Activity.occurred_at >= start,
                        Activity.occurred_at < end,
                    )
                    .options(joinedload(Activity.address), joinedload(Activity.project))
                    .order_by(Activity.occurred_at.desc())
                )
            )
            calls_today = session.scalar(
                select(func.count(Call.id))
                .join(Line, Call.line_id == Line.id)
                .where(Line.user_id == user.id, Call.started_at >= start, Call.started_at < end)
            )
            missed = session.scalar(
                select(func.count(Call.id))
                .join(Line, Call.line_id == Line.id)
                .where(
                    Line.user_id == user.id,
                    Call.started_at >= start,
                    Call.started_at < end,
                    Call.end_reason == "missed",
                )
            )
            lines = list(session.scalars(select(Line).where(Line.user_id == user.id)))
            return {
                "services": services,
                "activities": activities,
                "minutes": sum(s.minutes for s in services),
                "calls_today": calls_today or 0,
                "missed": missed or 0,
                "lines": lines,
            }

    data = await asyncio.to_thread(work)
    statuses = {line.id: offhook_of(request).lines.status(line.id) for line in data["lines"]}
    return render(request, "today.html", user, statuses=statuses, **data)
