"""The agent protocol as the agent speaks it (described in full in `PROTOCOL.md`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from offhook_agent.mapping import CallUpdate

PROTOCOL_VERSION = 1
AGENT_PATH = "/api/drivers/tapi/agent"

# Close codes of the server (see PROTOCOL.md): after these the agent stops, it cannot help.
REFUSED = 4401
REPLACED = 4409
FINAL_CLOSE_CODES = {REFUSED: "the server refused the agent token", REPLACED: "replaced"}


def now() -> str:
    return datetime.now(UTC).isoformat()


def call_message(key: str, update: CallUpdate, at: str, seq: int) -> dict[str, Any]:
    return {"type": "call", "seq": seq, "key": key, "at": at, **update.to_json()}


def snapshot_message(key: str, calls: list[CallUpdate], seq: int) -> dict[str, Any]:
    at = now()
    return {
        "type": "snapshot",
        "seq": seq,
        "key": key,
        "at": at,
        "calls": [{"key": key, "at": at, **call.to_json()} for call in calls],
    }


class CommandRefused(Exception):
    """The line cannot do what the server asked; the message is shown to the user."""


class Phone(Protocol):
    """What the uplink needs of the lines it brings (TAPI lines; in tests a script)."""

    def lines(self) -> list[dict[str, Any]]:
        """The lines as the hello lists them: key, name, caps."""
        ...

    def live_calls(self, key: str) -> list[CallUpdate] | None:
        """The line's calls that have not ended (for the snapshot); None while the line
        cannot tell (not open)."""
        ...

    async def dial(self, key: str, dial_ref: str, dial_string: str) -> None: ...

    async def answer(self, key: str, call_ref: str) -> None: ...

    async def hangup(self, key: str, call_ref: str) -> None: ...
