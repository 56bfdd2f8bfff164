"""The unbilled calls and the figures of their charts as JSON, and marking a call "not
billable". The same filters and the same rule on whose calls as the pages: everybody their
own, administrators anybody's (`of=<user id>`) or the whole firm's (`of=all`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from offhook.crm import call_figures as figures
from offhook.crm import unbilled
from offhook.crm.paging import page_number
from offhook.journal.entry import JournalEntry
from offhook.settings.telephony import SettingsCache
from offhook.web.common import FromDay, PageNo, Text, ToDay, in_session
from offhook.web.pages.unbilled import chart_tables, figures_filter, list_filter
from offhook.web.security import User_, csrf_protect

router = APIRouter(prefix="/api", dependencies=[Depends(csrf_protect)], tags=["unbilled"])


class UnbilledCall(BaseModel):
    entry: JournalEntry
    user: str = Field(description="Whose line the call was on.")
    project_id: int | None = Field(
        description="The client's only active project, preselected when booking; null if it "
        "has several or none."
    )


class UnbilledPage(BaseModel):
    calls: list[UnbilledCall] = Field(description="Unbilled calls, newest first.")
    page: int
    has_next: bool = Field(description="Whether another page follows.")


class ChartTable(BaseModel):
    header: list[str]
    rows: list[list[Any]]


class FiguresAnswer(BaseModel):
    first: str = Field(description="The period's first day (ISO 8601).")
    last: str = Field(description="The period's last day, included.")
    user_id: int | None = Field(description="Whose calls; null for the whole firm.")
    charts: dict[str, ChartTable] = Field(
        description="Each chart's numbers: weeks, users (firm only), hours, weekdays, "
        "callbacks, callers."
    )


class Mark(BaseModel):
    reason: str = Field("", max_length=2000, description="Why it is not billable (optional).")


@router.get("/unbilled")
async def api_unbilled(
    request: Request,
    user: User_,
    of: Text = "",
    first: FromDay = "",
    last: ToDay = "",
    address: Text = "",
    min_minutes: Annotated[int, Query(alias="min", ge=0, le=1440)] = 0,
    page_: PageNo = "1",
) -> UnbilledPage:
    """Connected calls with clients that no service was booked for and that are not marked
    "not billable", newest first, 50 a page."""
    flt = list_filter(user, of, first, last, address, str(min_minutes))

    def work(session: Session) -> UnbilledPage:
        found = unbilled.unbilled(session, flt, SettingsCache.get(session), page_number(page_))
        calls = [
            UnbilledCall(entry=r.entry, user=r.owner, project_id=r.project_id) for r in found.items
        ]
        return UnbilledPage(calls=calls, page=found.number, has_next=found.has_next)

    return await in_session(request, work)


@router.get("/unbilled/figures")
async def api_figures(
    request: Request, user: User_, of: Text = "", first: FromDay = "", last: ToDay = ""
) -> FiguresAnswer:
    """The numbers of every chart of the period (default: the last 13 weeks and this one)."""

    def work(session: Session) -> FiguresAnswer:
        settings = SettingsCache.get(session)
        flt = figures_filter(user, of, first, last, settings)
        tables = chart_tables(figures.all_figures(session, flt, settings))
        return FiguresAnswer(
            first=flt.first.isoformat(),
            last=flt.last.isoformat(),
            user_id=flt.user_id,
            charts={
                name: ChartTable(header=list(header), rows=rows)
                for name, (header, rows) in tables.items()
            },
        )

    return await in_session(request, work)


@router.post("/unbilled/{call_id}/not-billable", status_code=204)
async def api_mark(request: Request, call_id: int, user: User_, mark: Mark) -> None:
    """Mark one of your connected calls as not to be billed: it leaves the list."""

    def work(session: Session) -> None:
        try:
            unbilled.mark_not_billable(session, user.id, call_id, mark.reason)
        except unbilled.NotMarkable as exc:
            raise HTTPException(404, str(exc)) from exc

    await in_session(request, work)


@router.delete("/unbilled/{call_id}/not-billable", status_code=204)
async def api_unmark(request: Request, call_id: int, user: User_) -> None:
    """Undo the mark: the call is back on the list."""

    def work(session: Session) -> None:
        try:
            unbilled.unmark(session, user.id, call_id)
        except unbilled.NotMarkable as exc:
            raise HTTPException(404, str(exc)) from exc

    await in_session(request, work)
