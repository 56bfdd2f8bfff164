"""The agent's WebSocket endpoint, and agent tokens over HTTP.

`/api/drivers/tapi/agent`: an agent connects here with `Authorization: Bearer <agent token>`.
A missing, unknown or revoked token is refused before the connection is accepted (HTTP 403),
and a connected agent whose token is revoked is disconnected (close code 4401) at once when the
revocation goes through this server, else within `TOKEN_RECHECK` seconds.

`/api/drivers/tapi/tokens`: list, create and revoke agent tokens (an admin for any line of a
TAPI phone system, a user for their own lines); the same as `offhook tapi token …`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from offhook.drivers.tapi import connected
from offhook.drivers.tapi.driver import AgentLink, TapiDriver
from offhook.drivers.tapi.pages import router as pages_router
from offhook.drivers.tapi.protocol import (
    KNOWN_TYPES,
    MAX_MESSAGE,
    CloseCode,
    Hello,
    agent_message,
)
from offhook.settings.agent_tokens import (
    AgentTokenError,
    agent_grant,
    agent_token_valid,
    agent_tokens,
    create_agent_token,
    revoke_agent_token,
)
from offhook.settings.language import N_
from offhook.store.models import User
from offhook.web.context import offhook_of
from offhook.web.security import User_, csrf_protect

log = logging.getLogger(__name__)

router = APIRouter(tags=["TAPI agents"])
# The settings page for agent tokens (HTML, under /drivers/tapi/), served with these routes.
router.routes.extend(pages_router.routes)

#: How long an agent has for its hello.
HELLO_TIMEOUT = 10.0
#: How often a connected agent's token is checked again (revoked from the CLI, another server).
TOKEN_RECHECK = 2.0


def _bearer(websocket: WebSocket) -> str:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@router.websocket("/api/drivers/tapi/agent")
async def agent_endpoint(websocket: WebSocket) -> None:
    app = offhook_of(websocket)
    token = _bearer(websocket)
    grant = (
        await asyncio.to_thread(app.store.read, lambda s: agent_grant(s, token)) if token else None
    )
    if grant is None:
        log.info("an agent was refused: no valid agent token")
        await websocket.close(CloseCode.REFUSED, "this agent token is not valid (any more)")
        return
    runner = app.lines.running.get(grant.phone_system_id)
    if runner is None or not isinstance(runner.driver, TapiDriver):
        await websocket.close(CloseCode.NOT_RUNNING, "the agent's phone system is not running")
        return
    driver = runner.driver
    await websocket.accept()

    async def send(message: dict[str, Any]) -> None:
        await websocket.send_text(json.dumps(message))

    async def close(code: int, reason: str) -> None:
        await websocket.close(code, reason)

    link = AgentLink(grant, send, close)
    try:
        hello = await _hello(websocket)
    except (TimeoutError, ValueError, ValidationError):
        await link.close(CloseCode.BAD_HELLO, "the first message must be a valid hello")
        return
    except WebSocketDisconnect:
        return
    log.info(
        "agent %r (token %s) connected with %d lines", hello.agent, grant.token_id, len(hello.lines)
    )
    connected.add(link)
    watch = asyncio.create_task(_watch_token(app.store.read, link), name="agent token watch")
    try:
        await driver.attach(link, hello)
        await _serve(websocket, driver, link)
    except WebSocketDisconnect:
        pass
    finally:
        watch.cancel()
        driver.detach(link)
        connected.remove(link)
        await link.close(CloseCode.STOPPING, "")
        log.info("agent %r (token %s) disconnected", hello.agent, grant.token_id)


async def _hello(websocket: WebSocket) -> Hello:
    text = await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT)
    if len(text) > MAX_MESSAGE:
        raise ValueError("too long")
    return Hello.model_validate_json(text)


async def _serve(websocket: WebSocket, driver: TapiDriver, link: AgentLink) -> None:
    silent_after = 3 * driver.heartbeat
    while not link.closed:
        try:
            text = await asyncio.wait_for(websocket.receive_text(), silent_after)
        except TimeoutError:
            await link.close(CloseCode.SILENT, "nothing heard for three heartbeats")
            return
        if len(text) > MAX_MESSAGE:
            await link.close(1009, "message too long")
            return
        try:
            raw = json.loads(text)
            kind = raw.get("type") if isinstance(raw, dict) else None
            if kind not in KNOWN_TYPES or kind == "hello":
                continue  # a newer agent's message: not for this server
            message = agent_message.validate_python(raw)
        except (ValueError, ValidationError) as exc:
            # One bad message is the agent's bug, not a reason to drop its lines.
            await link.send({"type": "error", "error": str(exc)[:500]})
            continue
        assert not isinstance(message, Hello)
        await driver.on_message(link, message)


async def _watch_token(read: Any, link: AgentLink) -> None:
    token_id = link.grant.token_id

    def valid(session: Session) -> bool:
        return agent_token_valid(session, token_id)

    while not link.closed:
        await asyncio.sleep(TOKEN_RECHECK)
        if not await asyncio.to_thread(read, valid):
            await link.close(CloseCode.REFUSED, "this agent token was revoked")
            return


# --- agent tokens ------------------------------------------------------------------------------


class AgentTokenOut(BaseModel):
    id: int
    phone_system_id: int
    name: str
    line_ids: list[int]
    created_at: datetime
    last_used_at: datetime | None


class NewAgentToken(BaseModel):
    phone_system_id: int
    line_ids: list[int] = Field(min_length=1, max_length=500)
    name: str = Field("", max_length=200)


class CreatedAgentToken(AgentTokenOut):
    token: str = Field(description="Shown once: give it to the agent (`offhook-agent setup`).")


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(401, N_("unknown user"))
    return user


@router.get("/api/drivers/tapi/tokens")
async def list_tokens(request: Request, current: User_) -> list[AgentTokenOut]:
    def work(session: Session) -> list[AgentTokenOut]:
        rows = agent_tokens(session, _user(session, current.id))
        return [AgentTokenOut.model_validate(row, from_attributes=True) for row in rows]

    return await asyncio.to_thread(offhook_of(request).store.read, work)


@router.post("/api/drivers/tapi/tokens", dependencies=[Depends(csrf_protect)], status_code=201)
async def create_token(request: Request, current: User_, body: NewAgentToken) -> CreatedAgentToken:
    def work() -> CreatedAgentToken:
        with offhook_of(request).store.session() as session:
            user = _user(session, current.id)
            token = create_agent_token(
                session, user, body.phone_system_id, body.line_ids, body.name
            )
            row = agent_tokens(session, user, body.phone_system_id)[-1]
            out = AgentTokenOut.model_validate(row, from_attributes=True)
            return CreatedAgentToken(**out.model_dump(), token=token)

    try:
        return await asyncio.to_thread(work)
    except AgentTokenError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.delete(
    "/api/drivers/tapi/tokens/{token_id}", dependencies=[Depends(csrf_protect)], status_code=204
)
async def revoke_token(request: Request, current: User_, token_id: int) -> None:
    def work() -> None:
        with offhook_of(request).store.session() as session:
            revoke_agent_token(session, _user(session, current.id), token_id)

    try:
        await asyncio.to_thread(work)
    except AgentTokenError as exc:
        raise HTTPException(404, str(exc)) from exc
    await connected.disconnect_token(token_id)
