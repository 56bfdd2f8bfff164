"""The `tapi` driver: lines that an offhook agent on a Windows PC serves through TAPI.

The phone system is "the agents of one site": an admin adds it once, gives each user a line
whose address is the TAPI line's name as the agent lists it (`offhook-agent lines`), and
creates an agent token for the lines one agent may serve (Settings, or `offhook tapi token
create`). The agent connects out to `/api/drivers/tapi/agent` (`web`), says hello with its
lines, and from then on reports their calls; the driver maps its lines to users' lines, passes
the calls on and relays dial, answer and hang-up to it. A line no agent serves is shown as
waiting for its agent; its calls stay as they were until the agent is back and sends its
snapshot, which reconciles them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from offhook.calls.events import CallState
from offhook.drivers.contract import (
    DialRequest,
    Driver,
    DriverError,
    FarConnection,
    LineState,
    PhoneSystemContext,
)
from offhook.drivers.tapi.protocol import (
    PROTOCOL_VERSION,
    CallReport,
    CloseCode,
    Hello,
    LineReport,
    Ping,
    Result,
    Snapshot,
)
from offhook.settings.agent_tokens import AgentGrant
from offhook.settings.language import N_

log = logging.getLogger(__name__)

#: How long a dial, answer or hang-up may take the agent (it answers after TAPI's LINE_REPLY).
COMMAND_TIMEOUT = 15.0
NOT_CONNECTED = N_("waiting for its offhook agent to connect")
#: What an agent's connection through another server is called (`Driver.tunnel`).
AGENT_TUNNEL = "tapi agent"

Send = Callable[[dict[str, Any]], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


class AgentLink:
    """One connected agent as the driver sees it; the web route owns the WebSocket."""

    _ids = itertools.count(1)

    def __init__(self, grant: AgentGrant, send: Send, close: Close) -> None:
        self.grant = grant
        self._send = send
        self._close = close
        #: The lines it serves: its line key → offhook line id.
        self.keys: dict[str, int] = {}
        self.hello: Hello | None = None
        self._pending: dict[str, asyncio.Future[Result]] = {}
        self._send_lock = asyncio.Lock()
        self.closed = False

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._send(message)

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(DriverError("the offhook agent disconnected"))
        with contextlib.suppress(Exception):  # already gone is fine
            await self._close(code, reason)

    async def command(self, message: dict[str, Any]) -> None:
        """Send a command and wait for the agent's result; a refusal is a `DriverError` with
        the agent's message for the user."""
        command_id = f"c{next(self._ids)}"
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        try:
            await self.send({**message, "id": command_id})
            result = await asyncio.wait_for(future, COMMAND_TIMEOUT)
        except TimeoutError:
            raise DriverError("the offhook agent did not answer in time") from None
        except OSError as exc:
            raise DriverError(f"the offhook agent could not be reached ({exc})") from exc
        finally:
            self._pending.pop(command_id, None)
        if not result.ok:
            raise DriverError(result.error or "the offhook agent refused")

    def resolve(self, result: Result) -> None:
        future = self._pending.get(result.id)
        if future is not None and not future.done():
            future.set_result(result)


class TapiDriver(Driver):
    name: ClassVar[str] = "tapi"
    title: ClassVar[str] = N_("Windows TAPI (offhook agent)")
    description: ClassVar[str] = N_(
        "Lines that a Windows PC reaches through the phone vendor's TAPI driver (Swyx, "
        "Auerswald, Agfeo, Unify, innovaphone …). The offhook agent on that PC connects to "
        "offhook and reports the calls; offhook dials, answers and hangs up through it."
    )
    can_dial: ClassVar[bool] = True
    can_answer: ClassVar[bool] = True
    can_hangup: ClassVar[bool] = True
    line_address_label: ClassVar[str] = N_("TAPI line name")
    line_address_example: ClassVar[str] = "Swyx Line 201"
    routes: ClassVar[str | None] = "offhook.drivers.tapi.web:router"
    commands: ClassVar[str | None] = "offhook.drivers.tapi.cli:app"
    settings_links: ClassVar[tuple[tuple[str, str], ...]] = (
        ("Agents and tokens…", "/drivers/tapi/agents"),
    )

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        heartbeat: int = Field(
            20,
            ge=5,
            le=300,
            title="Heartbeat (seconds)",
            description=N_("How often agents say they are alive; one silent for three is dropped."),
        )

    def __init__(self, context: PhoneSystemContext) -> None:
        super().__init__(context)
        self.heartbeat = int(context.options.get("heartbeat", 20))
        self._links: set[AgentLink] = set()
        #: Which agent serves each line (the newest one that may).
        self._serving: dict[int, AgentLink] = {}
        #: When each line lost its agent: calls that ended meanwhile end then.
        self._lost_at: dict[int, datetime] = {}

    # -- Driver -----------------------------------------------------------------------------

    async def start(self) -> None:
        # The endpoint is there for agents as long as the driver runs; each line says whether
        # an agent serves it.
        self.context.set_status(LineState.CONNECTED)
        for line_id in self.context.lines:
            self.context.set_status(LineState.RECONNECTING, NOT_CONNECTED, line_id)

    async def stop(self) -> None:
        links, self._links = list(self._links), set()
        self._serving.clear()
        for link in links:
            await link.close(CloseCode.STOPPING, "the phone system is restarting")

    async def lines_changed(self) -> None:
        # Agents stay connected: only which lines they serve changes.
        for line_id in self.context.lines:
            if line_id not in self._serving:
                self.context.set_status(LineState.RECONNECTING, NOT_CONNECTED, line_id)
        for link in list(self._links):
            await self._welcome(link)

    async def dial(self, line_id: int, request: DialRequest) -> None:
        link, key = self._link_of(line_id)
        await link.command(
            {
                "type": "dial",
                "key": key,
                "dial_ref": request.dial_ref,
                "number": request.number,
                "dial_string": request.dial_string,
            }
        )

    async def answer(self, line_id: int, call_ref: str) -> None:
        link, key = self._link_of(line_id)
        await link.command({"type": "answer", "key": key, "call_ref": call_ref})

    async def hangup(self, line_id: int, call_ref: str) -> None:
        link, key = self._link_of(line_id)
        await link.command({"type": "hangup", "key": key, "call_ref": call_ref})

    async def tunnel(self, kind: str, opening: Mapping[str, Any], far: FarConnection) -> None:
        """An agent connected to another server: served here as if it had connected here."""
        if kind != AGENT_TUNNEL:
            await super().tunnel(kind, opening, far)
            return
        from offhook.drivers.tapi.session import AgentGone, serve_agent  # it imports this

        grant = AgentGrant(
            token_id=int(opening["token_id"]),
            phone_system_id=self.context.system_id,
            line_ids=frozenset(int(line_id) for line_id in opening["line_ids"]),
            name=str(opening.get("name", "")),
        )

        async def receive(timeout: float) -> str:
            message = await asyncio.wait_for(far.receive(), timeout)
            if message is None:
                raise AgentGone
            return str(message.get("text", ""))

        await serve_agent(self, AgentLink(grant, far.send, far.close), receive)

    # -- agents -----------------------------------------------------------------------------

    async def attach(self, link: AgentLink, hello: Hello) -> None:
        """A new agent said hello: an older one with the same token is replaced."""
        for other in [o for o in self._links if o.grant.token_id == link.grant.token_id]:
            self.detach(other)
            await other.close(CloseCode.REPLACED, "another agent connected with this token")
        link.hello = hello
        self._links.add(link)
        await self._welcome(link)

    def detach(self, link: AgentLink) -> None:
        self._links.discard(link)
        now = datetime.now(UTC)
        for line_id in list(link.keys.values()):
            if self._serving.get(line_id) is link:
                del self._serving[line_id]
                self._lost_at[line_id] = now
                self.context.set_status(
                    LineState.RECONNECTING,
                    f"its offhook agent disconnected; {NOT_CONNECTED}",
                    line_id,
                )
        link.keys = {}

    async def on_message(
        self, link: AgentLink, message: LineReport | CallReport | Snapshot | Result | Ping
    ) -> None:
        if isinstance(message, Ping):
            await link.send({"type": "pong"})
        elif isinstance(message, Result):
            link.resolve(message)
        elif isinstance(message, LineReport):
            line_id = self._served(link, message.key)
            if line_id is not None:
                state = LineState(message.state)
                self.context.set_status(state, message.reason, line_id)
        elif isinstance(message, CallReport):
            line_id = self._served(link, message.key)
            if line_id is not None:
                self.context.emit(message.event(line_id))
            await self._received(link, message.seq)
        elif isinstance(message, Snapshot):
            line_id = self._served(link, message.key)
            if line_id is not None:
                self._snapshot(line_id, message)
            await self._received(link, message.seq)

    async def _received(self, link: AgentLink, seq: int) -> None:
        # The agent forgets what it is told was received: it must be stored by then, or a
        # server killed right after would lose it. What could not be stored is not confirmed;
        # the agent sends it again when it connects again, so it is told to.
        if await self.context.stored():
            await link.send({"type": "received", "seq": seq})
        else:
            await link.close(CloseCode.STOPPING, "call events cannot be stored right now")

    # -- helpers ----------------------------------------------------------------------------

    async def _welcome(self, link: AgentLink) -> None:
        """Decide which of the agent's lines it serves, and tell it."""
        hello = link.hello
        if hello is None or link.closed:
            return
        served: dict[str, int] = {}
        refused: list[dict[str, str]] = []
        for line in hello.lines:
            info = self.context.line_for(line.key)
            if info is None:
                refused.append(
                    {"key": line.key, "reason": "no line in offhook has this TAPI line's name"}
                )
            elif info.id not in link.grant.line_ids:
                refused.append({"key": line.key, "reason": "this agent's token may not serve it"})
            else:
                served[line.key] = info.id
        for line_id in set(link.keys.values()) - set(served.values()):
            if self._serving.get(line_id) is link:
                del self._serving[line_id]
        link.keys = served
        for line_id in served.values():
            self._serving[line_id] = link
            self.context.set_status(LineState.CONNECTED, "", line_id)
        await link.send(
            {
                "type": "welcome",
                "protocol": PROTOCOL_VERSION,
                "heartbeat": self.heartbeat,
                "lines": sorted(served),
                "refused": refused,
            }
        )

    def _served(self, link: AgentLink, key: str) -> int | None:
        line_id = link.keys.get(key)
        if line_id is None or self._serving.get(line_id) is not link:
            return None  # not its line (any more): what it says of it is dropped
        return line_id

    def _snapshot(self, line_id: int, snapshot: Snapshot) -> None:
        now = datetime.now(UTC)
        live: list[str] = []
        for call in snapshot.calls:
            if call.key != snapshot.key:
                continue
            event = call.event(line_id, now)
            self.context.emit(event)
            if event.state is not CallState.ENDED:
                live.append(event.call_ref)
        lost = self._lost_at.pop(line_id, None)
        self.context.reconcile(
            live, at=lost or now, reason="ended while its offhook agent was away", line_id=line_id
        )

    def _link_of(self, line_id: int) -> tuple[AgentLink, str]:
        link = self._serving.get(line_id)
        if link is None:
            raise DriverError("the offhook agent for this line is not connected")
        for key, served in link.keys.items():
            if served == line_id:
                return link, key
        raise DriverError("the offhook agent for this line is not connected")
