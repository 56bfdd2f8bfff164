"""Settings page for agent tokens: `/drivers/tapi/agents` (an admin sees every token, a user
their own; the same rules as `offhook tapi token …`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from offhook.drivers.tapi import connected
from offhook.settings.agent_tokens import (
    AgentTokenError,
    agent_tokens,
    create_agent_token,
    revoke_agent_token,
)
from offhook.settings.language import N_
from offhook.store.models import Line, PhoneSystem, User
from offhook.web.context import offhook_of
from offhook.web.security import User_, csrf_protect
from offhook.web.templating import add_template_dir, flash, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

# The page's template extends offhook's base page: it is found next to offhook's own.
add_template_dir(Path(__file__).with_name("templates"))

PAGE = "/drivers/tapi/agents"


def _me(session: Session, user_id: int) -> User:
    me = session.get(User, user_id)
    assert me is not None
    return me


@router.get(PAGE)
async def agents_page(request: Request, user: User_) -> Response:
    def work() -> dict[str, Any]:
        with offhook_of(request).store.session() as session:
            me = _me(session, user.id)
            query = (
                select(Line)
                .where(Line.driver == "tapi")
                .options(joinedload(Line.phone_system), joinedload(Line.user))
                .order_by(Line.phone_system_id, Line.address)
            )
            if not me.is_admin:
                query = query.where(Line.user_id == me.id)
            lines = list(session.scalars(query))
            systems = {
                s.id: s.name
                for s in session.scalars(select(PhoneSystem).where(PhoneSystem.driver == "tapi"))
            }
            tokens = agent_tokens(session, me)
            titles = {line.id: line.title for line in session.scalars(select(Line))}
            session.expunge_all()
            return {"lines": lines, "systems": systems, "tokens": tokens, "line_titles": titles}

    context = await asyncio.to_thread(work)
    new_token = request.session.pop("new_agent_token", None)
    server = str(request.base_url).rstrip("/")
    return render(request, "tapi/agents.html", user, new_token=new_token, server=server, **context)


@router.post(PAGE)
async def create(request: Request, user: User_) -> Response:
    form = await request.form()
    line_ids = [int(v) for v in form.getlist("line") if isinstance(v, str) and v.isdigit()]
    name = str(form.get("name") or "")

    def work() -> str:
        with offhook_of(request).store.session() as session:
            first = session.get(Line, line_ids[0]) if line_ids else None
            if first is None:
                raise AgentTokenError("tick the lines the agent may serve")
            return create_agent_token(
                session, _me(session, user.id), first.phone_system_id, line_ids, name
            )

    try:
        request.session["new_agent_token"] = await asyncio.to_thread(work)
        flash(request, N_("Agent token created. Copy it now: it is shown only once."))
    except AgentTokenError as exc:
        flash(request, str(exc)[:1].upper() + str(exc)[1:] + ".", "error")
    return RedirectResponse(PAGE, 303)


@router.post(PAGE + "/{token_id}/revoke")
async def revoke(request: Request, token_id: int, user: User_) -> Response:
    def work() -> None:
        with offhook_of(request).store.session() as session:
            revoke_agent_token(session, _me(session, user.id), token_id)

    try:
        await asyncio.to_thread(work)
    except AgentTokenError as exc:
        flash(request, str(exc)[:1].upper() + str(exc)[1:] + ".", "error")
        return RedirectResponse(PAGE, 303)
    await connected.disconnect_token(token_id)
    flash(request, N_("Agent token revoked; its agent is disconnected."))
    return RedirectResponse(PAGE, 303)
