"""The simulated phone system's HTTP API: the demo's "Simulate call" and scripted tests.

Under /api/drivers/simulator/, documented at /api/docs with the rest of the API.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from offhook.calls.events import EndReason, HangupSide
from offhook.directory.names import display_name
from offhook.drivers.simulator.driver import Outcome, SimulatorDriver
from offhook.settings.language import N_, _
from offhook.store.models import Address, Channel, Line
from offhook.web.context import offhook_of
from offhook.web.security import CurrentUser, User_, csrf_protect

router = APIRouter(
    prefix="/api/drivers/simulator",
    dependencies=[Depends(csrf_protect)],
    tags=["simulated phone system"],
)


def _simulator(
    request: Request, user: CurrentUser, line_id: int | None
) -> tuple[int, SimulatorDriver]:
    """The user's simulated line (an admin may name anybody's) and its phone system's driver."""
    lines = offhook_of(request).lines
    with offhook_of(request).store.session() as session:
        query = select(Line).where(Line.driver == SimulatorDriver.name).order_by(Line.id)
        if line_id is not None:
            query = query.where(Line.id == line_id)
        if not user.is_admin or line_id is None:
            query = query.where(Line.user_id == user.id)
        candidates = list(session.scalars(query))
    if not candidates:
        raise HTTPException(
            404,
            N_("You have no simulated line. An admin can add one in Settings > Lines."),
        )
    for line in candidates:
        runner = lines.runner_of_line(line.id)
        if runner is not None and isinstance(runner.driver, SimulatorDriver):
            return line.id, runner.driver
    raise HTTPException(
        409,
        "Your simulated line is not running: the Simulated phone system is not loaded. Load it "
        "or turn on Auto Load in Settings > Interfaces > Extensions.",
    )


class SimulatedCall(BaseModel):
    number: str = Field(max_length=300, description="The caller's number")
    name: str = Field("", max_length=300, description="The caller's name, as the network says")
    outcome: Outcome = "ringing"
    ring_seconds: float = Field(4.0, ge=0, le=600)
    talk_seconds: float = Field(60.0, ge=0, le=86400)
    line_id: int | None = Field(None, description="Your line (default: your simulated line)")
    to: str | None = Field(
        None,
        max_length=40,
        description="An extension or ring group of the line's phone system to ring instead "
        "of the line alone",
    )


class CallPlaced(BaseModel):
    line_id: int
    call_ref: str
    line_ids: list[int] = Field(description="Every line the call rings on")


@router.post("/calls")
async def simulate_call(request: Request, body: SimulatedCall, user: User_) -> CallPlaced:
    """An incoming call on your simulated line (or on an extension or ring group of its phone
    system), played out as `outcome` says."""
    line_id, driver = await asyncio.to_thread(_simulator, request, user, body.line_id)
    targets = driver.lines_for(body.to) if body.to else [line_id]
    if not targets:
        raise HTTPException(
            404,
            _("{target} is no extension or ring group of this phone system.").format(
                target=body.to
            ),
        )
    ref = driver.play(
        body.number, body.name, body.outcome, body.ring_seconds, body.talk_seconds, targets
    )
    return CallPlaced(line_id=line_id, call_ref=ref, line_ids=targets)


class FarEnd(BaseModel):
    action: Literal["answer", "hangup", "busy", "reject", "fail"]


@router.post("/lines/{line_id}/calls/{call_ref}")
async def far_end(
    request: Request, line_id: int, call_ref: str, body: FarEnd, user: User_
) -> dict[str, Any]:
    """What the other party does: answer your dialled call, hang up, be busy …"""
    _, driver = await asyncio.to_thread(_simulator, request, user, line_id)
    if call_ref not in driver.calls:
        raise HTTPException(404, N_("That call is no longer on the simulated line."))
    if body.action == "answer":
        driver.connect(call_ref)
    elif body.action == "hangup":
        driver.end(call_ref, None, HangupSide.REMOTE)
    elif body.action == "busy":
        driver.end(call_ref, EndReason.BUSY, HangupSide.REMOTE)
    elif body.action == "reject":
        driver.end(call_ref, EndReason.REJECTED, HangupSide.REMOTE)
    else:
        driver.end(call_ref, EndReason.FAILED)
    return {"ok": True}


@router.get("/lines/{line_id}/calls")
async def simulated_calls(request: Request, line_id: int, user: User_) -> list[dict[str, Any]]:
    _, driver = await asyncio.to_thread(_simulator, request, user, line_id)
    return [
        {
            "call_ref": c.ref,
            "direction": c.direction.value,
            "state": c.state.value,
            "number": c.number,
            "line_ids": sorted(c.legs),
        }
        for c in driver.calls.values()
        if line_id in c.legs
    ]


@router.get("/callers")
async def callers(request: Request, user: User_) -> list[dict[str, str]]:
    """Numbers worth simulating a call from: some known callers, and some that are not."""

    def work() -> list[dict[str, str]]:
        with offhook_of(request).store.session() as session:
            rows = session.scalars(
                select(Channel)
                .where(Channel.kind.in_(("phone", "mobile")), Channel.e164.is_not(None))
                .options(joinedload(Channel.address).joinedload(Address.company))
                .order_by(Channel.id)
                .limit(12)
            )
            known = [
                {"number": c.e164 or c.value, "label": f"{display_name(c.address)} ({c.value})"}
                for c in rows
            ]
        return [
            *known,
            {"number": "+41 79 555 01 99", "label": _("An unknown Swiss mobile")},
            {"number": "+49 30 901820", "label": _("An unknown number in Berlin")},
            {"number": "anonymous", "label": _("A withheld number")},
        ]

    return await asyncio.to_thread(work)
