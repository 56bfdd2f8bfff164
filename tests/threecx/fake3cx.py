"""A local stand-in for a 3CX's Call Control API (V20), following 3CX's published description
(www.3cx.com/docs/call-control-api-endpoints/ and 3CX's call-control examples). No 3CX is
reachable here, so this is what the `3cx` driver is tested against.

- `POST /connect/token` (OAuth 2 client credentials) issues bearer tokens.
- `GET /callcontrol`, `GET /callcontrol/{dn}/participants/{id}` describe DNs and participants.
- `POST /callcontrol/{dn}/makecall`, `POST /callcontrol/{dn}/participants/{id}/drop`.
- `GET /callcontrol/ws` (WebSocket, bearer token) sends `{"event": {"event_type": 0|1,
  "entity": "/callcontrol/{dn}/participants/{id}"}}` for each participant that appears or
  changes (0, Upset) or goes (1, Remove).

The test plays the PBX's part: `ring`, `answer`, `hang_up`, and can drop the event streams.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.livesite import free_port


@dataclass
class Fake3cx:
    client_id: str = "offhook"
    client_secret: str = "api-key-from-3cx"
    dns: tuple[str, ...] = ("101", "102", "103")
    participants: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    sockets: list[WebSocket] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    port: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    # -- the server ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.participants = {dn: {} for dn in self.dns}
        app = Starlette(
            routes=[
                Route("/connect/token", self._token, methods=["POST"]),
                Route("/callcontrol", self._all, methods=["GET"]),
                Route("/callcontrol/{dn}/participants/{pid:int}", self._one, methods=["GET"]),
                Route("/callcontrol/{dn}/makecall", self._makecall, methods=["POST"]),
                Route(
                    "/callcontrol/{dn}/participants/{pid:int}/{action}",
                    self._action,
                    methods=["POST"],
                ),
                WebSocketRoute("/callcontrol/ws", self._ws),
            ]
        )
        self.port = self.port or free_port()
        config = uvicorn.Config(app, "127.0.0.1", self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        await self.drop_streams()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    def _authorised(self, request: Request | WebSocket) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and token in self.tokens

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return JSONResponse({"error": "invalid_client"}, 401)
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    async def _all(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        return JSONResponse(
            [
                {
                    "dn": dn,
                    "type": "Wextension",
                    "devices": [{"dn": dn, "device_id": f"dev-{dn}", "user_agent": "Yealink"}],
                    "participants": list(self.participants[dn].values()),
                }
                for dn in self.dns
            ]
        )

    async def _one(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        found = self.participants.get(request.path_params["dn"], {}).get(request.path_params["pid"])
        return JSONResponse(found) if found else Response(status_code=404)

    async def _makecall(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        dn = request.path_params["dn"]
        body = await request.json()
        self.requests.append(("makecall", dn, body))
        if dn not in self.participants:
            return Response(status_code=404)
        participant = await self._add(dn, "Dialing", body.get("destination", ""), "", None)
        return JSONResponse({"finalstatus": "Success", "result": participant})

    async def _action(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        dn, pid, action = (request.path_params[k] for k in ("dn", "pid", "action"))
        self.requests.append((action, dn, pid))
        if pid not in self.participants.get(dn, {}):
            return Response(status_code=404)
        if action == "drop":
            await self.hang_up(dn, pid)
        return JSONResponse({"finalstatus": "Success"})

    async def _ws(self, socket: WebSocket) -> None:
        if not self._authorised(socket):
            await socket.close(code=1008)
            return
        await socket.accept()
        self.sockets.append(socket)
        try:
            while True:
                await socket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            if socket in self.sockets:
                self.sockets.remove(socket)

    async def _send(self, event_type: int, dn: str, pid: int) -> None:
        message = json.dumps(
            {
                "sequence": next(self._ids),
                "event": {
                    "event_type": event_type,
                    "entity": f"/callcontrol/{dn}/participants/{pid}",
                    "attached_data": None,
                },
            }
        )
        await self.send_raw(message)

    async def send_raw(self, message: str) -> None:
        for socket in list(self.sockets):
            await socket.send_text(message)

    async def drop_streams(self) -> None:
        for socket in list(self.sockets):
            await socket.close()
        self.sockets.clear()

    async def streams(self) -> int:
        return len(self.sockets)

    # -- the PBX's part -------------------------------------------------------------------------

    async def _add(
        self, dn: str, status: str, party: str, name: str, callid: int | None
    ) -> dict[str, Any]:
        pid = next(self._ids)
        participant = {
            "id": pid,
            "status": status,
            "dn": dn,
            "party_caller_name": name,
            "party_dn": party,
            "party_caller_id": party,
            "party_did": "",
            "device_id": f"dev-{dn}",
            "party_dn_type": "Wexternalline",
            "direct_control": True,
            "originated_by_dn": dn if status == "Dialing" else "",
            "callid": callid if callid is not None else next(self._ids),
            "legid": pid,
        }
        self.participants[dn][pid] = participant
        await self._send(0, dn, pid)
        return participant

    async def ring(self, dn: str, caller: str, name: str = "", callid: int | None = None) -> int:
        """A call rings on `dn`; returns the participant's id."""
        return int((await self._add(dn, "Ringing", caller, name, callid))["id"])

    async def answer(self, dn: str, pid: int) -> None:
        self.participants[dn][pid]["status"] = "Connected"
        await self._send(0, dn, pid)

    async def hang_up(self, dn: str, pid: int, tell: bool = True) -> None:
        self.participants[dn].pop(pid, None)
        if tell:
            await self._send(1, dn, pid)

    def callid(self, dn: str, pid: int) -> int:
        return int(self.participants[dn][pid]["callid"])
