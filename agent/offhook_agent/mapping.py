"""From TAPI messages to call events: pure, so it runs and is tested on any machine.

The agent feeds every message of one open line (`LINEMESSAGE`) together with the call's
`LINECALLINFO` as read right after the message (`CallInfo`, or None where there is no call or
the read failed) into a `LineCalls`, which answers with the call events to report
(`CallUpdate`: the fields of offhook's call event).

What vendor drivers (TSPs) do differently, and how it is taken here:

- the caller ID arrives after OFFERING, or only after CONNECTED (a `LINE_CALLINFO`, or just new
  data on the next state): each change of number or name is reported again with the call's
  current state;
- PROCEEDING, RINGBACK or DIALTONE are missing, or come in another order: every state before
  the answer is "ringing" (incoming) or "dialling" (outgoing), and a call never goes back;
- UNKNOWN states change nothing; a call known only as UNKNOWN is not reported;
- a call goes IDLE without DISCONNECTED, or an hCall is offered again without IDLE: the call
  ends there;
- several calls on one line are independent (by hCall); held, conferenced and transfer-pending
  calls stay connected; the conference's own call (origin CONFERENCE) is no conversation of
  its own and is never reported;
- the origin is missing (UNKNOWN/UNAVAIL): the direction comes from the first state.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from offhook_agent import constants as c

#: How many ended calls' references are kept to avoid handing one out twice.
_REMEMBERED_REFS = 1000
#: Longest number or name passed on. TAPI strings come from the caller and the vendor's driver.
MAX_TEXT = 200

_PRE_ANSWER = {
    c.LINECALLSTATE_OFFERING,
    c.LINECALLSTATE_ACCEPTED,
    c.LINECALLSTATE_DIALTONE,
    c.LINECALLSTATE_DIALING,
    c.LINECALLSTATE_PROCEEDING,
    c.LINECALLSTATE_RINGBACK,
}
_INCOMING_FIRST = {c.LINECALLSTATE_OFFERING, c.LINECALLSTATE_ACCEPTED}
_OUTGOING_FIRST = {
    c.LINECALLSTATE_DIALTONE,
    c.LINECALLSTATE_DIALING,
    c.LINECALLSTATE_PROCEEDING,
    c.LINECALLSTATE_RINGBACK,
}
_TALKING = {
    c.LINECALLSTATE_CONNECTED,
    c.LINECALLSTATE_ONHOLD,
    c.LINECALLSTATE_CONFERENCED,
    c.LINECALLSTATE_ONHOLDPENDCONF,
    c.LINECALLSTATE_ONHOLDPENDTRANSFER,
}
_FAILED_MODES = (
    c.LINEDISCONNECTMODE_BADADDRESS
    | c.LINEDISCONNECTMODE_UNREACHABLE
    | c.LINEDISCONNECTMODE_CONGESTION
    | c.LINEDISCONNECTMODE_INCOMPATIBLE
    | c.LINEDISCONNECTMODE_UNAVAIL
    | c.LINEDISCONNECTMODE_NODIALTONE
    | c.LINEDISCONNECTMODE_BLOCKED
    | c.LINEDISCONNECTMODE_DONOTDISTURB
    | 0x2000  # OUTOFORDER
    | 0x4000  # TEMPFAILURE
    | 0x8000  # QOSUNAVAIL
)


def clean_text(text: str) -> str:
    """A number or name as it may be passed on: no control characters, bounded."""
    kept = "".join(ch for ch in text if ch.isprintable())
    return kept.strip()[:MAX_TEXT]


@dataclass(frozen=True, slots=True)
class PartyId:
    """One party of a call as TAPI names it (`LINECALLPARTYID_*` in `flags`)."""

    number: str = ""
    name: str = ""
    flags: int = 0


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What the agent reads from `LINECALLINFO` (see `offhook_agent.structs.parse_call_info`)."""

    call_id: int = 0
    origin: int = 0
    reason: int = 0
    caller: PartyId = field(default_factory=PartyId)
    called: PartyId = field(default_factory=PartyId)
    connected: PartyId = field(default_factory=PartyId)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallInfo:
        def party(key: str) -> PartyId:
            raw = data.get(key) or {}
            return PartyId(
                str(raw.get("number", "")), str(raw.get("name", "")), int(raw.get("flags", 0))
            )

        return cls(
            call_id=int(data.get("call_id", 0)),
            origin=int(data.get("origin", 0)),
            reason=int(data.get("reason", 0)),
            caller=party("caller"),
            called=party("called"),
            connected=party("connected"),
        )


@dataclass(frozen=True, slots=True)
class TapiMessage:
    """One `LINEMESSAGE`."""

    message: int
    device: int
    param1: int = 0
    param2: int = 0
    param3: int = 0


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """A call event to report: the fields of offhook's call event, plus where the call came
    from (`origin`: "internal", "external" or "" when the driver does not say)."""

    call_ref: str
    direction: str  # "incoming" | "outgoing"
    state: str  # "ringing" | "dialling" | "connected" | "ended"
    remote_number: str = ""
    remote_name: str = ""
    origin: str = ""
    end_reason: str | None = None
    dial_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class _Call:
    hcall: int
    info: CallInfo | None = None
    ref: str | None = None
    direction: str | None = None
    state: str | None = None  # the journal state last reported
    end_reason: str | None = None
    dial_ref: str | None = None
    last: CallUpdate | None = None

    @property
    def is_conference(self) -> bool:
        return self.info is not None and self.info.origin == c.LINECALLORIGIN_CONFERENCE


class LineCalls:
    """The calls of one open TAPI line, and the call events they make."""

    def __init__(self) -> None:
        self._calls: dict[int, _Call] = {}
        #: References of calls that ended lately: a vendor that reuses a call ID must not
        #: bring an ended call back (the journal would keep it ended).
        self._ended_refs: deque[str] = deque(maxlen=_REMEMBERED_REFS)
        self._serial = 0

    # -- input ------------------------------------------------------------------------------

    def feed(self, message: TapiMessage, info: CallInfo | None = None) -> list[CallUpdate]:
        """The call events one message makes (often none)."""
        if message.message == c.LINE_APPNEWCALL:
            return self._new_call(message.param2, info)
        if message.message == c.LINE_CALLSTATE:
            return self._call_state(message.device, message.param1, message.param2, info)
        if message.message == c.LINE_CALLINFO:
            return self._call_info(message.device, info)
        return []

    def dialled(self, hcall: int, dial_ref: str) -> list[CallUpdate]:
        """`lineMakeCallW` for offhook's `dial_ref` gave this hCall (its LINE_REPLY succeeded)."""
        call = self._calls.setdefault(hcall, _Call(hcall))
        call.dial_ref = dial_ref
        if call.direction is None:
            call.direction = "outgoing"
        if call.state is None:
            call.state = "dialling"
        return self._report(call)

    def close(self) -> None:
        """The line was closed under us (LINE_CLOSE, REINIT): its call handles are void. The
        calls that still exist are told apart by the snapshot after the line is open again."""
        self._calls.clear()

    # -- output -----------------------------------------------------------------------------

    def live(self) -> list[CallUpdate]:
        """The reported calls that have not ended, as last reported (for a snapshot)."""
        return [
            call.last
            for call in self._calls.values()
            if call.last is not None and call.state != "ended"
        ]

    def hcall_of(self, call_ref: str) -> int | None:
        """The hCall of a reported call, for answer and hang-up."""
        for call in self._calls.values():
            if call.ref == call_ref or (call.dial_ref and f"dial:{call.dial_ref}" == call_ref):
                return call.hcall
        return None

    # -- messages ---------------------------------------------------------------------------

    def _new_call(self, hcall: int, info: CallInfo | None) -> list[CallUpdate]:
        updates: list[CallUpdate] = []
        old = self._calls.get(hcall)
        if (
            old is not None
            and old.state not in (None, "ended")
            and old.dial_ref is None
            and _another_call(old.info, info)
        ):
            # The handle is offered again for another call: the driver never said the old
            # one went idle. (The same call announced twice, as when a line is opened while
            # the call arrives, stays one call.)
            updates += self._end(old, None)
            del self._calls[hcall]
        call = self._calls.setdefault(hcall, _Call(hcall))
        if info is not None:
            call.info = info
        return updates

    def _call_state(
        self, hcall: int, state: int, mode: int, info: CallInfo | None
    ) -> list[CallUpdate]:
        call = self._calls.setdefault(hcall, _Call(hcall))
        if info is not None:
            call.info = info
        if call.is_conference:
            if state == c.LINECALLSTATE_IDLE:
                del self._calls[hcall]
            return []
        if state == c.LINECALLSTATE_IDLE:
            updates = self._end(call, None) if call.state not in (None, "ended") else []
            del self._calls[hcall]
            return updates
        if call.state == "ended":
            return []
        if state in _PRE_ANSWER:
            self._settle_direction(call, state)
            if call.state is None:
                call.state = "ringing" if call.direction == "incoming" else "dialling"
            return self._report(call)
        if state in _TALKING:
            self._settle_direction(call, state)
            call.state = "connected"
            return self._report(call)
        if state == c.LINECALLSTATE_BUSY:
            self._settle_direction(call, state)
            return self._end(call, "busy" if call.direction == "outgoing" else None)
        if state == c.LINECALLSTATE_SPECIALINFO:
            self._settle_direction(call, state)
            return self._end(call, "failed" if call.direction == "outgoing" else None)
        if state == c.LINECALLSTATE_DISCONNECTED:
            self._settle_direction(call, state)
            return self._end(call, self._end_reason(call, mode))
        # UNKNOWN, or a state this version of TAPI does not know: nothing changes, but a
        # reported call may have new party IDs.
        return self._report(call) if call.state is not None else []

    def _call_info(self, hcall: int, info: CallInfo | None) -> list[CallUpdate]:
        call = self._calls.setdefault(hcall, _Call(hcall))
        if info is not None:
            call.info = info
        if call.state is None or call.state == "ended" or call.is_conference:
            return []
        return self._report(call)

    # -- helpers ----------------------------------------------------------------------------

    def _settle_direction(self, call: _Call, state: int) -> None:
        if call.direction is not None:
            return
        origin = call.info.origin if call.info is not None else 0
        if call.dial_ref is not None or origin == c.LINECALLORIGIN_OUTBOUND:
            call.direction = "outgoing"
        elif (
            origin
            in (
                c.LINECALLORIGIN_INTERNAL,
                c.LINECALLORIGIN_EXTERNAL,
                c.LINECALLORIGIN_INBOUND,
            )
            or state in _INCOMING_FIRST
        ):
            call.direction = "incoming"
        elif state in _OUTGOING_FIRST:
            call.direction = "outgoing"
        elif call.info is not None and not call.info.caller.number and call.info.called.number:
            # First seen talking (the agent started mid-call): only a called ID → we called.
            call.direction = "outgoing"
        else:
            call.direction = "incoming"

    def _end_reason(self, call: _Call, mode: int) -> str | None:
        if call.state == "connected":
            return None  # answered; who hung up is not told reliably
        outgoing = call.direction == "outgoing"
        if mode & c.LINEDISCONNECTMODE_REJECT:
            return "rejected"
        if mode & c.LINEDISCONNECTMODE_BUSY:
            return "busy" if outgoing else None
        if mode & c.LINEDISCONNECTMODE_PICKUP:
            return None if outgoing else "answered_elsewhere"
        if mode & c.LINEDISCONNECTMODE_CANCELLED:
            return "cancelled" if outgoing else "missed"
        if mode & _FAILED_MODES:
            return "failed" if outgoing else None
        return None

    def _end(self, call: _Call, reason: str | None) -> list[CallUpdate]:
        if call.state is None and call.dial_ref is None:
            # Never reported (only UNKNOWN, or ended before any state): nothing to end.
            call.state = "ended"
            return []
        if call.direction is None:
            call.direction = "outgoing" if call.dial_ref else "incoming"
        call.state = "ended"
        call.end_reason = reason
        updates = self._report(call)
        if call.ref is not None:
            self._ended_refs.append(call.ref)
        return updates

    def _new_ref(self, call: _Call) -> str:
        """The call's reference: TAPI's call ID (stable across an agent restart), unless
        another call on this line has or had it; then one of the agent's own."""
        taken = set(self._ended_refs) | {
            other.ref for other in self._calls.values() if other.ref is not None
        }
        call_id = call.info.call_id if call.info is not None else 0
        for candidate in (str(call_id) if call_id else "", f"h{call.hcall}"):
            if candidate and candidate not in taken:
                return candidate
        while True:
            self._serial += 1
            candidate = f"h{call.hcall}.{self._serial}"
            if candidate not in taken:
                return candidate

    def _report(self, call: _Call) -> list[CallUpdate]:
        if call.state is None or call.direction is None:
            return []
        if call.ref is None:
            call.ref = self._new_ref(call)
        number, name = _remote(call.info, call.direction)
        update = CallUpdate(
            call_ref=call.ref,
            direction=call.direction,
            state=call.state,
            remote_number=number,
            remote_name=name,
            origin=_origin(call.info),
            end_reason=call.end_reason if call.state == "ended" else None,
            dial_ref=call.dial_ref,
        )
        if update == call.last:
            return []
        call.last = update
        return [update]


def _another_call(before: CallInfo | None, now: CallInfo | None) -> bool:
    """Whether call information read for one hCall describes another call than before."""
    if before is None or now is None:
        return False  # cannot tell: one call rather than a phantom
    if before.call_id and now.call_id:
        return before.call_id != now.call_id
    return before.caller != now.caller


def _remote(info: CallInfo | None, direction: str) -> tuple[str, str]:
    if info is None:
        return "", ""
    parties = (info.caller,) if direction == "incoming" else (info.called, info.connected)
    for party in parties:
        number = clean_text(party.number)
        if number:
            return number, clean_text(party.name)
    first = parties[0]
    if first.flags & c.LINECALLPARTYID_BLOCKED:
        # A withheld number is not an unknown one: the journal says so.
        return "anonymous", clean_text(first.name)
    return "", clean_text(first.name)


def _origin(info: CallInfo | None) -> str:
    if info is None:
        return ""
    if info.origin == c.LINECALLORIGIN_INTERNAL:
        return "internal"
    if info.origin == c.LINECALLORIGIN_EXTERNAL:
        return "external"
    return ""
