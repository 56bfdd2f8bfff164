"""Settings › Phone numbers: "Normalize phone numbers", its live progress and its report."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from offhook.directory.normalization import Progress, last_run, stale_numbers_exist
from offhook.directory.normalization.report import PAGE_SIZE, problems
from offhook.settings.language import N_, _, number_text
from offhook.web.context import offhook_of
from offhook.web.security import Admin, csrf_protect
from offhook.web.templating import flash, render

router = APIRouter(
    prefix="/settings/numbers", dependencies=[Depends(csrf_protect)], include_in_schema=False
)


def _state(request: Request) -> tuple[Progress | None, bool]:
    """The newest run, and whether one is going on (here, elsewhere, or about to start)."""
    app = offhook_of(request)
    with app.store.session() as session:
        progress = last_run(session)
    running = app.normalization.running or (progress is not None and progress.running)
    return progress, running


def progress_json(progress: Progress | None, running: bool) -> dict[str, Any]:
    data: dict[str, Any] = (
        progress.to_json() if progress is not None else {"state": None, "done": 0, "total": 0}
    )
    done, total = int(data["done"]), int(data["total"])
    data["running"] = running
    data["percent"] = round(100 * done / total, 1) if total else (0.0 if running else 100.0)
    if running and (progress is None or not progress.running):
        data["text"] = _("Starting…")
    elif running:
        data["text"] = _("{done} of {total} numbers").format(
            done=number_text(done), total=number_text(total)
        )
        if progress is not None and progress.rate:
            rate = number_text(round(progress.rate))
            data["text"] += " " + _("({rate} per second)").format(rate=rate)
    else:
        data["text"] = _("Done.")
    return data


@router.get("")
async def numbers_page(request: Request, user: Admin, after: int = 0) -> Response:
    def work() -> dict[str, Any]:
        app = offhook_of(request)
        progress, running = _state(request)
        with app.store.session() as session:
            page = problems(session, after, PAGE_SIZE)
        stale = False if running else stale_numbers_exist(app.store)
        return {
            "progress": progress,
            "running": running,
            "live": progress_json(progress, running),
            "stale": stale,
            "problems": page,
            "after": after,
            "next_after": page[-1].channel_id if len(page) == PAGE_SIZE else None,
            "finished_at": _time(progress.finished_at) if progress else None,
            "started_at": _time(progress.started_at) if progress else None,
        }

    context = await asyncio.to_thread(work)
    return render(request, "numbers/index.html", user, **context)


@router.post("/normalize")
async def normalize(request: Request, user: Admin) -> Response:
    form = await request.form()
    everything = form.get("everything") == "on"
    _, running = await asyncio.to_thread(_state, request)
    if running or not offhook_of(request).normalization.request(everything=everything):
        flash(
            request, N_("The phone numbers are being normalized already; see the progress below.")
        )
    else:
        flash(request, N_("Normalizing the phone numbers. You may leave this page: it goes on."))
    return RedirectResponse("/settings/numbers", status_code=303)


@router.get("/progress")
async def progress(request: Request, user: Admin) -> dict[str, Any]:
    """The current or newest run, for the page to poll."""
    state = await asyncio.to_thread(_state, request)
    return progress_json(*state)


def _time(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None
