"""Recordings of raw TAPI message sequences, and their replay.

`offhook-agent record FILE` writes every message of the open lines to FILE (JSON lines), with
the call information read after it, both decoded and as the raw `LINECALLINFO` bytes. A user
whose vendor driver behaves unusually sends such a file; replayed through the mapping (and
through the stand-in tapi32.dll of the test suite) it becomes a test. Recordings hold phone
numbers and names: the agent says so before it writes one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from offhook_agent.mapping import CallInfo, CallUpdate, LineCalls, TapiMessage
from offhook_agent.structs import parse_call_info


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded message of one line, with the call information read after it."""

    line: str
    message: TapiMessage
    info: CallInfo | None = None
    raw_info: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        m = self.message
        return {
            "line": self.line,
            "message": m.message,
            "device": m.device,
            "param1": m.param1,
            "param2": m.param2,
            "param3": m.param3,
            "info": self.info.to_json() if self.info is not None else None,
            "raw_info": base64.b64encode(self.raw_info).decode() if self.raw_info else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        raw = base64.b64decode(data["raw_info"]) if data.get("raw_info") else None
        # The raw bytes are the evidence: decode them with today's parser when present.
        info = parse_call_info(raw) if raw else None
        if info is None and data.get("info"):
            info = CallInfo.from_json(data["info"])
        message = TapiMessage(
            int(data["message"]),
            int(data.get("device", 0)),
            int(data.get("param1", 0)),
            int(data.get("param2", 0)),
            int(data.get("param3", 0)),
        )
        return cls(str(data.get("line", "")), message, info, raw)


class Recorder:
    """Writes steps to a file as JSON lines, flushed at once (the agent may be killed)."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def write(self, step: Step) -> None:
        self._out.write(json.dumps(step.to_json()) + "\n")
        self._out.flush()


def read_recording(path: Path) -> Iterator[Step]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield Step.from_json(json.loads(line))


def replay(steps: Iterable[Step]) -> list[tuple[str, CallUpdate]]:
    """The call events a recording makes, per line key."""
    lines: dict[str, LineCalls] = {}
    out: list[tuple[str, CallUpdate]] = []
    for step in steps:
        calls = lines.setdefault(step.line, LineCalls())
        out += [(step.line, update) for update in calls.feed(step.message, step.info)]
    return out
