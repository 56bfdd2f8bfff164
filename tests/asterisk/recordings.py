"""The public AMI recordings in ../shared/conformance/asterisk/ and the journals they must give.

They stay in ../shared (never copied into the repository); tests read them in place and skip
when the folder is absent. Each recording becomes the bytes an Asterisk would send (CRLF wire
format), so it can be served by the fake AMI server; its `expected.json` entry becomes the
journal entries to compare with (see `_meta.journal` there for the meaning of each field).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.calls.machine import CallFacts, apply, begin

SAME_MOMENT = timedelta(seconds=2)  # as offhook.calls.recorder._SAME_MOMENT
ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT.parent / "shared" / "conformance" / "asterisk"

# expected.json outcome -> the end reason offhook records. "not_answered" (the far end rang,
# nobody answered) is what offhook calls cancelled, shown as "Not answered".
OUTCOMES = {
    "answered": EndReason.ANSWERED,
    "missed": EndReason.MISSED,
    "rejected": EndReason.REJECTED,
    "busy": EndReason.BUSY,
    "cancelled": EndReason.CANCELLED,
    "not_answered": EndReason.CANCELLED,
}


@dataclass(frozen=True)
class Recording:
    folder: str  # cacofonisk | freepbx-pjsip
    name: str  # key in expected.json
    path: Path
    expected: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.folder}/{self.name}"

    def lines(self) -> list[str]:
        """Every phone account the oracle names: journaled or explicitly not."""
        names = [e["line"] for e in self.expected.get("journal", [])]
        names += [e["line"] for e in self.expected.get("not_in_journal", [])]
        return sorted(set(names))

    def wire(self) -> bytes:
        """The recording as Asterisk sends it after login: CRLF lines, an empty line each."""
        if self.path.suffix == ".json":
            events = json.loads(self.path.read_text(encoding="utf-8"))
            blocks = []
            for event in events:
                lines = [f"Event: {event['Event']}"]
                lines += [
                    f"{key}: {value}"
                    for key, value in event.items()
                    if key not in ("Event", "content")
                ]
                blocks.append("\r\n".join(lines) + "\r\n\r\n")
            return "".join(blocks).encode("utf-8")
        raw = self.path.read_bytes().replace(b"\r\n", b"\n")
        return raw.strip(b"\n").replace(b"\n", b"\r\n") + b"\r\n\r\n"


def recordings() -> list[Recording]:
    """Every recording with a journal in its folder's expected.json (none without ../shared)."""
    found: list[Recording] = []
    for folder in ("cacofonisk", "freepbx-pjsip"):
        oracle = CONFORMANCE / folder / "expected.json"
        if not oracle.is_file():
            continue
        expected = json.loads(oracle.read_text(encoding="utf-8"))
        for name, entry in sorted(expected.items()):
            if name.startswith("_") or "same_as" in entry:
                continue
            found.append(Recording(folder, name, CONFORMANCE / folder / name, entry))
    return found


@dataclass(frozen=True, order=True)
class Entry:
    """One journal entry, reduced to what the oracle states for every entry."""

    line: str
    direction: str
    remote_number: str
    remote_name: str
    outcome: str


def expected_entries(recording: Recording) -> tuple[Counter[Entry], set[str]]:
    """What the oracle wants, and the lines where one extra entry is acceptable."""
    wanted: Counter[Entry] = Counter()
    for e in recording.expected.get("journal", []):
        outcome = OUTCOMES[e["outcome"]]
        if e.get("answered_elsewhere"):
            outcome = EndReason.ANSWERED_ELSEWHERE
        direction = "incoming" if e["direction"] == "in" else "outgoing"
        wanted[
            Entry(e["line"], direction, e["remote_number"], e["remote_name"] or "", outcome.value)
        ] += 1
    optional = {
        e["line"] for e in recording.expected.get("not_in_journal", []) if e.get("optional_entry")
    }
    return wanted, optional


def journal(events: Iterable[CallEvent], line_names: dict[int, str]) -> Iterator[Entry]:
    """The journal the core's call machine makes of the events, one entry per line and call."""
    calls: dict[tuple[int, str], CallFacts] = {}
    for event in events:
        key = (event.line_id, event.call_ref)
        if key in calls:
            apply(calls[key], event)
        else:
            calls[key] = begin(event)
    # The core's rule for a call ringing on several lines (offhook.calls.recorder: siblings):
    # answered on one line, the others that did not connect are answered elsewhere.
    for (line_id, ref), facts in calls.items():
        if facts.direction is not Direction.INCOMING or facts.connected_at is None:
            continue
        for (other_line, other_ref), other in calls.items():
            if other_ref != ref or other_line == line_id or other.connected_at is not None:
                continue
            if other.direction is not Direction.INCOMING:
                continue
            if other.ended_at is not None and (
                other.end_reason is not EndReason.MISSED
                or other.ended_at < facts.connected_at - SAME_MOMENT
            ):
                continue
            other.state, other.end_reason = CallState.ENDED, EndReason.ANSWERED_ELSEWHERE
    for (line_id, _), facts in sorted(calls.items()):
        yield Entry(
            line_names[line_id],
            facts.direction.value,
            facts.remote_number,
            facts.remote_name,
            facts.end_reason.value if facts.end_reason else f"open:{facts.state.value}",
        )


def compare(recording: Recording, got: Iterable[Entry]) -> list[str]:
    """Differences between the journal and the oracle, as readable lines (none: a match)."""
    wanted, optional = expected_entries(recording)
    have = Counter(got)
    problems = []
    for entry, n in (wanted - have).items():
        problems.append(f"missing {n}x {entry}")
    for entry, n in (have - wanted).items():
        if entry.line in optional and n == 1:
            optional.discard(entry.line)
            continue
        problems.append(f"unexpected {n}x {entry}")
    return sorted(problems)
