"""3CX Call Control participants → call events.

3CX's Call Control API describes each extension (a DN) by its **participants**: one per call
leg on that DN, with a `status` (`Dialing`, `Ringing`, `Connected`), the other party
(`party_caller_id`, `party_caller_name`, `party_dn`) and the call's id (`callid`, shared by
every DN a call reaches). The WebSocket says that a participant appeared or changed (`Upset`;
its data is then read from the entity's URL) or went (`Remove`). `Participants` keeps the
participants of the DNs that are lines here and turns each change into call events:

| participant | call event |
|---|---|
| appears `Ringing` | incoming, ringing |
| appears `Dialing` | outgoing, dialling |
| `Connected` | connected |
| removed | ended: answered if it was connected; else see below |

A participant removed before it connected ended as the core derives it (missed, cancelled), or
as rejected (incoming) or cancelled (outgoing) when offhook dropped it.

The call reference is the `callid`, so a call that rings several agents (a queue, a ring group)
is one call on each of their lines: answered by one, answered elsewhere for the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide

_ENTITY = re.compile(r"^/callcontrol/([0-9A-Za-z_.+-]{1,40})/participants/(\d{1,18})$")
#: Participants kept per DN at most; a DN has a handful of calls at a time.
MAX_PER_DN = 100
MAX_TEXT = 300


def entity(path: str) -> tuple[str, int] | None:
    """(dn, participant id) of an event's entity path, if it names a participant."""
    match = _ENTITY.match(path.strip())
    return (match.group(1), int(match.group(2))) if match else None


@dataclass
class Participant:
    dn: str
    id: int
    call_ref: str
    direction: Direction
    number: str
    name: str
    connected: bool = False
    dropped_by_us: bool = False
    dial_ref: str | None = None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return str(value)[:MAX_TEXT] if isinstance(value, str | int) else ""


class Participants:
    """The participants of the DNs that are lines here."""

    def __init__(
        self,
        line_of: Callable[[str], int | None],
        emit: Callable[[CallEvent], None],
        now: Callable[[], datetime],
    ) -> None:
        self.line_of = line_of
        self._emit = emit
        self._now = now
        self.known: dict[tuple[str, int], Participant] = {}
        #: Dials offhook asked for, by DN, until the DN's next outgoing participant appears.
        self.dials: dict[str, str] = {}

    def snapshot(self, dns: Iterable[Mapping[str, Any]]) -> list[str]:
        """The full state after a (re)connect (`GET /callcontrol`): every participant of our
        DNs is reported; returns the call references that exist now, for reconciliation."""
        seen: set[tuple[str, int]] = set()
        for info in dns:
            dn = _text(info, "dn")
            if self.line_of(dn) is None:
                continue
            participants = info.get("participants")
            for data in participants[:MAX_PER_DN] if isinstance(participants, list) else []:
                if isinstance(data, dict) and isinstance(data.get("id"), int):
                    seen.add((dn, data["id"]))
                    self.upset(dn, data["id"], data)
        for key in [k for k in self.known if k not in seen]:
            del self.known[key]  # gone while we were away: reconciliation ends it
        return sorted({p.call_ref for p in self.known.values()})

    def upset(self, dn: str, participant_id: int, data: Mapping[str, Any]) -> None:
        """A participant appeared or changed; `data` is its current state."""
        line_id = self.line_of(dn)
        if line_id is None:
            return
        status = _text(data, "status").lower()
        key = (dn, participant_id)
        known = self.known.get(key)
        if known is None:
            if len([k for k in self.known if k[0] == dn]) >= MAX_PER_DN:
                return
            callid = data.get("callid")
            ref = f"3cx:{callid}" if isinstance(callid, int | str) and callid != "" else None
            known = Participant(
                dn,
                participant_id,
                (ref or f"3cx:{dn}:{participant_id}")[:200],
                _direction(dn, status, data),
                _text(data, "party_caller_id") or _text(data, "party_dn"),
                _text(data, "party_caller_name"),
            )
            if known.direction is Direction.OUTGOING:
                known.dial_ref = self.dials.pop(dn, None)
            self.known[key] = known
            first = (
                CallState.RINGING if known.direction is Direction.INCOMING else CallState.DIALLING
            )
            self._send(known, line_id, first)
        if status == "connected" and not known.connected:
            known.connected = True
            self._send(known, line_id, CallState.CONNECTED)

    def remove(self, dn: str, participant_id: int) -> None:
        known = self.known.pop((dn, participant_id), None)
        line_id = self.line_of(dn)
        if known is None or line_id is None:
            return
        reason: EndReason | None = None
        side: HangupSide | None = None
        if known.connected:
            reason = EndReason.ANSWERED
            side = HangupSide.LOCAL if known.dropped_by_us else None
        elif known.dropped_by_us:
            side = HangupSide.LOCAL
            incoming = known.direction is Direction.INCOMING
            reason = EndReason.REJECTED if incoming else EndReason.CANCELLED
        self._send(known, line_id, CallState.ENDED, reason, side)

    def find(self, dn: str, call_ref: str) -> Participant | None:
        """The DN's participant of a call, by its reference or by the core's placeholder for a
        call offhook dialled (`dial:<dial_ref>`)."""
        dial_ref = call_ref.removeprefix("dial:") if call_ref.startswith("dial:") else None
        return next(
            (
                p
                for p in self.known.values()
                if p.dn == dn and (p.call_ref == call_ref or (dial_ref and p.dial_ref == dial_ref))
            ),
            None,
        )

    def _send(
        self,
        participant: Participant,
        line_id: int,
        state: CallState,
        reason: EndReason | None = None,
        side: HangupSide | None = None,
    ) -> None:
        self._emit(
            CallEvent(
                line_id=line_id,
                call_ref=participant.call_ref,
                direction=participant.direction,
                state=state,
                at=self._now(),
                remote_number=participant.number,
                remote_name=participant.name,
                end_reason=reason,
                hangup_by=side,
                dial_ref=participant.dial_ref,
            )
        )


def _direction(dn: str, status: str, data: Mapping[str, Any]) -> Direction:
    if status == "dialing":
        return Direction.OUTGOING
    if status == "ringing":
        return Direction.INCOMING
    # First seen connected (after a reconnect): whoever started the call.
    return Direction.OUTGOING if _text(data, "originated_by_dn") == dn else Direction.INCOMING
