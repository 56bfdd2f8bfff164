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
import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from offhook.drivers.tapi import connected
from offhook.drivers.tapi.driver import AGENT_TUNNEL, AgentLink, TapiDriver
from offhook.drivers.tapi.pages import router as pages_router
from offhook.drivers.tapi.protocol import MAX_MESSAGE, CloseCode
from offhook.drivers.tapi.session import AgentGone, Receive, serve_agent
from offhook.lines.relay import RelayError
from offhook.settings.agent_tokens import (
    AgentGrant,
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

#: How often a connected agent's token is checked again (revoked from the CLI, another server).
TOKEN_RECHECK = 2.0
#: Added to three heartbeats before a tunnel that hears nothing is given up.
TUNNEL_GRACE = 2.0


def _bearer(websocket: WebSocket) -> str:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _receiver(websocket: WebSocket) -> Receive:
    async def receive(timeout: float) -> str:
        try:
            return await asyncio.wait_for(websocket.receive_text(), timeout)
        except WebSocketDisconnect as exc:
            raise AgentGone from exc

    return receive


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
        if app.lines.relay.connected:
            await _through_owner(websocket, grant)
            return
        await websocket.close(CloseCode.NOT_RUNNING, "the agent's phone system is not running")
        return
    driver = runner.driver
    await websocket.accept()

    async def send(message: dict[str, Any]) -> None:
        await websocket.send_text(json.dumps(message))

    async def close(code: int, reason: str) -> None:
        await websocket.close(code, reason)

    link = AgentLink(grant, send, close)
    watch = asyncio.create_task(_watch_token(app.store.read, link), name="agent token watch")
    try:
        await serve_agent(driver, link, _receiver(websocket))
    finally:
        watch.cancel()


async def _through_owner(websocket: WebSocket, grant: AgentGrant) -> None:
    """An agent whose phone system another server runs (the reverse proxy chose this one):
    its messages go to that server through a tunnel (Redis), and that server's back to it.

    Served there, not here: which agent serves which line, the commands waiting for the
    agent's result and the calls it reported live with the driver that runs the phone system,
    as for an agent connected to it directly. When that server dies the tunnel goes quiet or
    its successor closes it; the agent is then told to connect again (1012) and, from its
    outbox and snapshot, tells the new server what it has not confirmed yet.
    """
    app = offhook_of(websocket)
    opening = {
        "token_id": grant.token_id,
        "line_ids": sorted(grant.line_ids),
        "name": grant.name,
    }
    try:
        tunnel = await app.lines.tunnel(grant.phone_system_id, AGENT_TUNNEL, opening)
    except RelayError:
        await websocket.close(CloseCode.NOT_RUNNING, "the agent's phone system is not running")
        return
    await websocket.accept()
    # Until the driver's welcome says its heartbeat: short, so that a tunnel nobody takes (no
    # server runs the phone system just now) is closed, and the agent tries again, in seconds.
    heartbeat = 4.0

    async def from_agent() -> tuple[int, str]:
        while True:
            try:
                text = await websocket.receive_text()
            except WebSocketDisconnect:
                return 1000, ""
            await tunnel.send({"text": text[: MAX_MESSAGE + 1]})

    async def to_agent() -> tuple[int, str]:
        nonlocal heartbeat
        loop = asyncio.get_running_loop()
        while True:
            # The driver answers every ping (the agent sends one each heartbeat): silence for
            # three heartbeats means the server behind the tunnel is gone.
            quiet = tunnel.last_heard + 3 * heartbeat + TUNNEL_GRACE - loop.time()
            try:
                message = await asyncio.wait_for(tunnel.receive(), max(quiet, 0.1))
            except TimeoutError:
                if loop.time() - tunnel.last_heard > 3 * heartbeat + TUNNEL_GRACE:
                    return 1012, "the server that runs the phone system went away"
                continue
            if message is None:
                return tunnel.close_code, tunnel.close_reason
            if message.get("type") == "welcome":
                heartbeat = float(message.get("heartbeat") or heartbeat)
            await websocket.send_text(json.dumps(message))

    async def token_revoked() -> tuple[int, str]:
        def valid(session: Session) -> bool:
            return agent_token_valid(session, grant.token_id)

        while await asyncio.to_thread(app.store.read, valid):
            await asyncio.sleep(TOKEN_RECHECK)
        return CloseCode.REFUSED, "this agent token was revoked"

    tasks = [asyncio.create_task(work()) for work in (from_agent, to_agent, token_revoked)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        code, reason = next(iter(done)).result()
    except Exception as exc:  # Redis went away under the tunnel: the agent connects again
        log.info("an agent's tunnel to the server that runs its phone system failed: %s", exc)
        code, reason = 1012, "the server that runs the phone system cannot be reached"
    finally:
        for task in tasks:
            task.cancel()
        await tunnel.close()
    with contextlib.suppress(Exception):  # already gone is fine
        await websocket.close(code, reason)


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
