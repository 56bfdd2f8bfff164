"""The example driver's own API route: which of my lines are on an Echo PBX."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from echo_pbx import EchoPbxDriver
from offhook.web.context import offhook_of
from offhook.web.security import User_

router = APIRouter(prefix="/api/drivers/echo_pbx", tags=["echo pbx"])


@router.get("/my-lines")
async def my_lines(request: Request, user: User_) -> list[dict[str, Any]]:
    """Your lines on Echo PBX phone systems and their state."""
    lines = offhook_of(request).lines
    return [
        {"extension": info.address, **runner.line_status(line_id)}
        for runner in lines.running.values()
        if isinstance(runner.driver, EchoPbxDriver)
        for line_id, info in runner.lines.items()
        if info.user_id == user.id
    ]
