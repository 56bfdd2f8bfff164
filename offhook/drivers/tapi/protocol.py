"""The agent protocol, as the server reads it (the full description: `agent/PROTOCOL.md`).

One JSON object per WebSocket text message, told apart by `type`. Everything an agent sends is
checked here with bounds: an agent holds a token, but what it relays (numbers, names) comes
from callers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from offhook.calls.events import CallEvent, CallState, Direction, EndReason

PROTOCOL_VERSION = 1
#: The longest message an agent may send (a snapshot of many calls fits easily).
MAX_MESSAGE = 256 * 1024
#: Agent-side times further off than this are replaced by the server's: a PC's clock may be
#: wrong, and a call must not be dated into the future or years back.
MAX_CLOCK_SKEW = timedelta(hours=24)

Key = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=1000)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")  # newer agents may send more


class Capabilities(_Message):
    dial: bool = False
    answer: bool = False
    hangup: bool = False


class AgentLine(_Message):
    key: Key  # the line's name as TAPI shows it; a line's address in offhook
    name: Text = ""
    caps: Capabilities = Capabilities()


class Hello(_Message):
    type: Literal["hello"]
    protocol: int = PROTOCOL_VERSION
    agent: Text = ""
    os: Text = ""
    lines: list[AgentLine] = Field(default_factory=list, max_length=500)


class LineReport(_Message):
    type: Literal["line"]
    key: Key
    state: Literal["connected", "reconnecting", "failed"]
    reason: Text = ""


class CallFields(_Message):
    key: Key
    call_ref: Annotated[str, Field(min_length=1, max_length=200)]
    direction: Direction
    state: CallState
    at: datetime | None = None
    remote_number: Text = ""
    remote_name: Text = ""
    origin: Literal["internal", "external", ""] = ""
    end_reason: EndReason | None = None
    dial_ref: Annotated[str, Field(max_length=64)] | None = None

    def event(self, line_id: int, now: datetime | None = None) -> CallEvent:
        now = now or datetime.now(UTC)
        at = self.at
        if at is None or at.tzinfo is None or abs(at - now) > MAX_CLOCK_SKEW:
            at = now
        return CallEvent(
            line_id=line_id,
            call_ref=self.call_ref,
            direction=self.direction,
            state=self.state,
            at=at.astimezone(UTC),
            remote_number=self.remote_number,
            remote_name=self.remote_name,
            end_reason=self.end_reason if self.state is CallState.ENDED else None,
            dial_ref=self.dial_ref or None,
        )


class CallReport(CallFields):
    type: Literal["call"]
    seq: int = Field(ge=0)


class Snapshot(_Message):
    type: Literal["snapshot"]
    seq: int = Field(ge=0)
    key: Key
    calls: list[CallFields] = Field(default_factory=list, max_length=200)
    at: datetime | None = None


class Result(_Message):
    type: Literal["result"]
    id: Annotated[str, Field(max_length=64)]
    ok: bool
    error: Text = ""


class Ping(_Message):
    type: Literal["ping"]


AgentMessage = Annotated[
    Hello | LineReport | CallReport | Snapshot | Result | Ping, Field(discriminator="type")
]
agent_message: TypeAdapter[AgentMessage] = TypeAdapter(AgentMessage)
KNOWN_TYPES = frozenset({"hello", "line", "call", "snapshot", "result", "ping"})


class CloseCode:
    """WebSocket close codes the server uses; the agent shows them to its user."""

    REFUSED = 4401  # no valid token, or it was revoked: the agent stops retrying
    NOT_RUNNING = 4503  # the phone system is not running (the driver is not loaded)
    BAD_HELLO = 4400  # the first message was not a valid hello
    SILENT = 4408  # nothing heard for three heartbeats
    REPLACED = 4409  # another agent with the same token connected
    STOPPING = 1012  # the server or the phone system restarts
