"""The agent's connection to offhook: one outgoing WebSocket, kept up with back-off.

Nothing the agent reports is lost while the server is away: call events wait in the outbox
until the server says it received them (`received`), and after every (re)connect the agent
sends them again and then a snapshot of each line's live calls, from which the server ends
the calls that ended meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import OrderedDict
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from offhook_agent import __version__
from offhook_agent.mapping import CallUpdate
from offhook_agent.protocol import (
    AGENT_PATH,
    FINAL_CLOSE_CODES,
    PROTOCOL_VERSION,
    CommandRefused,
    Phone,
    call_message,
    now,
    snapshot_message,
)

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
#: Call events kept while the server is away; beyond this the oldest go (the snapshot after
#: the reconnect still has every live call).
OUTBOX_LIMIT = 5000


class AgentStopped(Exception):
    """The server refused the agent for good (token revoked, replaced)."""


def agent_url(server: str) -> str:
    """The agent endpoint of a server given as its web address."""
    base = server.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return base + AGENT_PATH


class Uplink:
    def __init__(self, server: str, token: str, phone: Phone, os_name: str = "") -> None:
        self.url = agent_url(server)
        self._token = token
        self.phone = phone
        self.os_name = os_name
        self._outbox: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._seq = 0
        self._ws: ClientConnection | None = None
        self._send_lock = asyncio.Lock()
        #: Lines the server let this agent serve, from its last welcome.
        self.served: list[str] = []
        self.refused: list[dict[str, str]] = []
        self.connected = asyncio.Event()
        self.heartbeat = 20.0

    # -- what the lines report (call from the event loop) ------------------------------------

    def report_call(self, key: str, update: CallUpdate) -> None:
        self._seq += 1
        message = call_message(key, update, now(), self._seq)
        self._outbox[self._seq] = message
        while len(self._outbox) > OUTBOX_LIMIT:
            self._outbox.popitem(last=False)
        self._send_soon(message)

    def report_line(self, key: str, state: str, reason: str = "") -> None:
        self._send_soon({"type": "line", "key": key, "state": state, "reason": reason})

    def resync(self, key: str, calls: list[CallUpdate] | None = None) -> None:
        """Send the line's snapshot: `calls` as the line had them when it was (re)opened, else
        what it has now. A line that cannot tell now (closed, TAPI starting over) sends none:
        an empty snapshot would end calls that still exist; its reopening sends one."""
        if calls is None:
            calls = self.phone.live_calls(key)
        if calls is None:
            return
        self._seq += 1
        self._send_soon(snapshot_message(key, calls, self._seq))

    def _send_soon(self, message: dict[str, Any]) -> None:
        if self._ws is not None:
            asyncio.get_running_loop().create_task(self._send(message))

    async def _send(self, message: dict[str, Any]) -> None:
        ws = self._ws
        if ws is None:
            return
        with contextlib.suppress(websockets.ConnectionClosed):
            async with self._send_lock:
                await ws.send(json.dumps(message))

    # -- the connection ---------------------------------------------------------------------

    async def run(self) -> None:
        """Stay connected until cancelled, or until the server refuses the agent for good."""
        delay = BACKOFF_FIRST
        while True:
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self._token}"},
                    open_timeout=15,
                    ping_interval=None,  # the protocol's own heartbeat is used
                    max_size=1024 * 1024,
                ) as ws:
                    delay = BACKOFF_FIRST
                    await self._session(ws)
            except websockets.InvalidStatus as exc:
                if exc.response.status_code in (401, 403):
                    raise AgentStopped(
                        "the server refused the agent token (revoked or mistyped?)"
                    ) from exc
                log.warning("the server answered %s; retrying", exc.response.status_code)
            except websockets.ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else 1006
                reason = exc.rcvd.reason if exc.rcvd is not None else ""
                if code in FINAL_CLOSE_CODES:
                    raise AgentStopped(reason or FINAL_CLOSE_CODES[code]) from exc
                log.warning("the connection to offhook closed (%s %s); reconnecting", code, reason)
            except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
                log.warning("cannot reach offhook at %s: %s", self.url, exc)
            finally:
                self._ws = None
                self.connected.clear()
            # Jitter: many agents of one firm must not all come back in the same second.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, BACKOFF_MAX)

    async def _session(self, ws: ClientConnection) -> None:
        hello = {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "agent": f"offhook-agent {__version__}",
            "os": self.os_name,
            "lines": self.phone.lines(),
        }
        await ws.send(json.dumps(hello))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 15))
        if welcome.get("type") != "welcome":
            raise websockets.InvalidHandshake(f"expected a welcome, got {welcome.get('type')!r}")
        self._welcome(welcome)
        self._ws = ws
        # What the server may have missed: unconfirmed call events, then what exists now.
        for message in list(self._outbox.values()):
            await self._send(message)
        for key in self.served:
            self.resync(key)
        self.connected.set()
        beat = asyncio.create_task(self._heartbeat(ws))
        try:
            async for raw in ws:
                await self._on(json.loads(raw))
        finally:
            beat.cancel()

    def _welcome(self, welcome: dict[str, Any]) -> None:
        self.served = [str(key) for key in welcome.get("lines", [])]
        self.refused = list(welcome.get("refused", []))
        self.heartbeat = float(welcome.get("heartbeat", 20))
        for refused in self.refused:
            log.warning(
                "offhook does not take the line %r: %s", refused.get("key"), refused.get("reason")
            )

    async def _heartbeat(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            await self._send({"type": "ping"})

    async def _on(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "received":
            self._outbox.pop(int(message.get("seq", -1)), None)
        elif kind == "welcome":  # the server's lines changed
            self._welcome(message)
        elif kind in ("dial", "answer", "hangup"):
            asyncio.get_running_loop().create_task(self._command(message))
        elif kind == "error":
            log.warning("offhook did not understand a message: %s", message.get("error"))

    async def _command(self, message: dict[str, Any]) -> None:
        kind, key = message.get("type"), str(message.get("key", ""))
        result: dict[str, Any] = {"type": "result", "id": message.get("id"), "ok": True}
        try:
            if key not in self.served:
                raise CommandRefused("this agent does not serve that line")
            if kind == "dial":
                await self.phone.dial(key, str(message["dial_ref"]), str(message["dial_string"]))
            elif kind == "answer":
                await self.phone.answer(key, str(message["call_ref"]))
            else:
                await self.phone.hangup(key, str(message["call_ref"]))
        except CommandRefused as exc:
            result.update(ok=False, error=str(exc))
        except Exception as exc:  # the server's user must hear of it; the agent goes on
            log.exception("the %s command failed", kind)
            result.update(ok=False, error=f"the agent failed: {exc}")
        await self._send(result)
