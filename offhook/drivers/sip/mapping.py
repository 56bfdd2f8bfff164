"""baresip events → call events: what happened to which call on one line.

baresip reports each call by its SIP Call-ID (`id`) with the direction, the peer URI and display
name, and a `type`; `LineCalls` keeps the little history needed to turn that into `CallEvent`s:

| baresip event (`class` "call") | call event |
|---|---|
| `CALL_INCOMING` | incoming, ringing |
| `CALL_RINGING`, `CALL_PROGRESS` (outgoing) | outgoing, dialling |
| `CALL_ESTABLISHED` | connected |
| `CALL_CLOSED` | ended; reason and side from the table in `ending` |
| anything else (SDP, RTCP, DTMF, …; `class` "other") | nothing |

An outgoing call placed by offhook is tied to its `DialRequest.dial_ref` by the driver as soon as
baresip names the new call (`dial` + `callstat` in one go), or else by the first call event of an
unknown outgoing call whose peer URI matches the dial string.

The text parsers for `listcalls`, `callstat` and `reginfo` output live here too: they turn
baresip 1.0.0's human-readable answers into facts.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide
from offhook.drivers.sip.ctrl import plain

RESET_BY_PEER = "Connection reset by peer"
# baresip 1.0.0 says this when the local side ended the call; later versions say "Rejected by
# user" for a declined incoming call.
RESET_BY_USER = ("Connection reset by user", "Rejected by user")

_STATE_OF_TYPE = {
    "CALL_INCOMING": CallState.RINGING,
    "CALL_RINGING": CallState.DIALLING,
    "CALL_PROGRESS": CallState.DIALLING,
    "CALL_ESTABLISHED": CallState.CONNECTED,
    "CALL_CLOSED": CallState.ENDED,
}
# `callstat` names a call's state as baresip's call_statename() does.
_STATE_OF_CALLSTAT = {
    "INCOMING": CallState.RINGING,
    "OUTGOING": CallState.DIALLING,
    "RINGING": CallState.DIALLING,
    "EARLY": CallState.DIALLING,
    "ESTABLISHED": CallState.CONNECTED,
}
_KEEP_ENDED = 256


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call baresip reports as existing right now (from `callstat`)."""

    call_ref: str
    direction: Direction
    state: CallState
    account: str = ""
    remote_uri: str = ""
    remote_name: str = ""


@dataclass
class TrackedCall:
    call_ref: str
    direction: Direction
    account: str
    remote_number: str = ""
    remote_name: str = ""
    dial_ref: str | None = None
    state: CallState | None = None  # last state reported
    #: Whether it was ever connected; None: unknown (first seen when it ended).
    established: bool | None = False
    hangup_requested: bool = False
    seen: int = 0  # sequence number of the last event, for reconciliation


@dataclass
class _PendingDial:
    dial_ref: str
    dial_string: str
    #: Until then a new outgoing call to the same target may be this dial (see `_attach_dial`).
    expires: float


def _sip_code(param: str) -> int | None:
    match = re.match(r"\s*([1-6][0-9][0-9])\b", param)
    return int(match.group(1)) if match else None


def ending(
    direction: Direction, established: bool | None, param: str, hangup_requested: bool
) -> tuple[EndReason | None, HangupSide | None]:
    """Why a call ended and who ended it, from what baresip said in `CALL_CLOSED`.

    | was connected | direction | CALL_CLOSED param / we asked to hang up | reason, side |
    |---|---|---|---|
    | yes | any | "… reset by user" or we asked | answered, local |
    | yes | any | "… reset by peer" or a SIP code | answered, remote |
    | no | incoming | "… reset by user" or we asked | rejected, local |
    | no | incoming | "… reset by peer" (caller cancelled) | missed, remote |
    | no | outgoing | "… reset by user" or we asked | cancelled, local |
    | no | outgoing | 486, 600 | busy, remote |
    | no | outgoing | 603 | rejected, remote |
    | no | outgoing | other SIP code or error text | failed |
    | unknown | any | anything | none (the core decides), side as above |
    """
    code = _sip_code(param)
    by_peer = param.startswith(RESET_BY_PEER)
    local = param.startswith(RESET_BY_USER) or (hangup_requested and not by_peer)
    side = HangupSide.LOCAL if local else HangupSide.REMOTE if by_peer or code else None
    if established:
        return EndReason.ANSWERED, side
    if direction is Direction.INCOMING:
        if established is None:
            return None, side
        return (EndReason.REJECTED, side) if local else (EndReason.MISSED, side)
    if local:
        return (EndReason.CANCELLED if established is False else None), side
    if code in (486, 600):
        return EndReason.BUSY, HangupSide.REMOTE
    if code == 603:
        return EndReason.REJECTED, HangupSide.REMOTE
    if established is None:
        return None, side
    return EndReason.FAILED, side


def _uri_parts(uri: str) -> tuple[str, str]:
    """(user, host[:port]) of a SIP/tel URI or a bare number; params and scheme dropped."""
    text = uri.strip().strip("<>")
    text = re.sub(r"^(sips?|tel):", "", text, flags=re.IGNORECASE)
    text = text.split(";", 1)[0].split("?", 1)[0]
    user, _, host = text.rpartition("@") if "@" in text else (text, "", "")
    return user, host.lower()


def same_address(a: str, b: str) -> bool:
    """Whether two SIP URIs name the same user at the same host[:port] (params ignored)."""
    return _uri_parts(a) == _uri_parts(b)


def dial_matches(dial_string: str, peer_uri: str) -> bool:
    """Whether baresip's peer URI is what `dial_string` became (a bare number gets a domain)."""
    dial_user, dial_host = _uri_parts(dial_string)
    peer_user, peer_host = _uri_parts(peer_uri)
    if dial_user != peer_user:
        return False
    return not dial_host or dial_host == peer_host


class LineCalls:
    """The calls of one line as baresip reported them, turned into `CallEvent`s."""

    def __init__(self, line_id: int) -> None:
        self.line_id = line_id
        self._calls: dict[str, TrackedCall] = {}
        self._ended: OrderedDict[str, str | None] = OrderedDict()  # call_ref → dial_ref
        self._dials: list[_PendingDial] = []
        self._seq = 0
        # True from a reconciliation until the connection drops: every call that starts then
        # is seen from its first event on, so one first seen ending was never connected.
        self._watching = False

    # -- what the driver asks -------------------------------------------------------------

    def get(self, call_ref: str) -> TrackedCall | None:
        return self._calls.get(call_ref)

    def by_dial_ref(self, dial_ref: str) -> TrackedCall | None:
        """The live call placed for `dial_ref`, once baresip has named it."""
        return next((call for call in self._calls.values() if call.dial_ref == dial_ref), None)

    def live(self) -> list[TrackedCall]:
        return list(self._calls.values())

    def mark(self) -> int:
        """A point in the event stream; see `reconcile`."""
        return self._seq

    def forget_all(self) -> None:
        """baresip stopped, and its calls with it: track none (their late events are ignored)."""
        for call in self._calls.values():
            self._remember_ended(call)
        self._calls.clear()
        self._dials.clear()
        self._watching = False

    def lost_contact(self) -> None:
        """The connection to baresip dropped: events may be missed until `reconcile`."""
        self._watching = False

    # -- what the driver tells ------------------------------------------------------------

    def expect_dial(self, dial_ref: str, dial_string: str, *, within: float = 30.0) -> None:
        self._dials.append(_PendingDial(dial_ref, dial_string, time.monotonic() + within))

    def forget_dial(self, dial_ref: str) -> None:
        self._dials = [d for d in self._dials if d.dial_ref != dial_ref]

    def hangup_requested(self, call_ref: str) -> None:
        call = self._calls.get(call_ref)
        if call is not None:
            call.hangup_requested = True

    def dial_placed(self, dial_ref: str, placed: LiveCall, at: datetime) -> list[CallEvent]:
        """baresip named the call a dial created: attach `dial_ref` and report it as dialling."""
        self.forget_dial(dial_ref)
        if placed.call_ref in self._ended:
            return []  # failed at once; its ended event already carried the dial_ref
        call = self._calls.get(placed.call_ref)
        if call is None:
            call = self._track(
                placed.call_ref,
                placed.direction,
                placed.account,
                placed.remote_uri,
                placed.remote_name,
            )
        elif call.dial_ref == dial_ref:
            return []
        call.dial_ref = dial_ref
        # Report it even if already reported without the dial_ref: the journal's "dialling"
        # entry is attached by this event.
        state = call.state or placed.state
        return [self._event(call, state, at)]

    def on_event(self, event: Mapping[str, Any], at: datetime) -> list[CallEvent]:
        """Feed one baresip event; return the call events it means (often none)."""
        self._seq += 1
        if event.get("class") != "call":
            return []
        state = _STATE_OF_TYPE.get(str(event.get("type")))
        call_ref = event.get("id")
        if state is None or not isinstance(call_ref, str) or not call_ref:
            return []
        if call_ref in self._ended:
            return []  # baresip says nothing after CALL_CLOSED; this is a stray duplicate
        direction = (
            Direction.OUTGOING if event.get("direction") == "outgoing" else Direction.INCOMING
        )
        call = self._calls.get(call_ref)
        if call is None:
            call = self._track(
                call_ref,
                direction,
                _str(event, "accountaor"),
                _str(event, "peeruri"),
                _str(event, "peerdisplayname"),
            )
            if state is CallState.CONNECTED:
                call.established = True  # auto answer: no CALL_INCOMING comes first
            elif state is CallState.ENDED and not self._watching:
                call.established = None  # it may have been connected while nobody listened
            if direction is Direction.OUTGOING:
                self._attach_dial(call)
        call.seen = self._seq
        if state is CallState.CONNECTED:
            call.established = True
        if state is CallState.ENDED:
            return [self._end(call, _str(event, "param"), at)]
        if call.state is not None and call.state.rank >= state.rank:
            return []
        return [self._event(call, state, at)]

    def reconcile(
        self, snapshot: Iterable[LiveCall], since: int, at: datetime
    ) -> tuple[list[CallEvent], set[str]]:
        """Align with the calls baresip lists after a (re)connect.

        `since` is `mark()` taken before asking baresip: calls that had events after it are
        current whatever the (older) snapshot says. Returns the events for listed calls (so a
        call connected while nobody listened shows as connected) and the refs of every live
        call; tracked calls missing from both ended unseen and are forgotten here, the core
        ends them through `LineContext.reconcile`.
        """
        events: list[CallEvent] = []
        listed: set[str] = set()
        for live in snapshot:
            if live.call_ref in self._ended or live.call_ref in listed:
                continue
            listed.add(live.call_ref)
            call = self._calls.get(live.call_ref)
            if call is None:
                call = self._track(
                    live.call_ref,
                    live.direction,
                    live.account,
                    live.remote_uri,
                    live.remote_name,
                )
            elif call.seen > since:
                continue
            if live.state is CallState.CONNECTED:
                call.established = True
            if call.state is None or call.state.rank < live.state.rank:
                events.append(self._event(call, live.state, at))
        for call_ref, call in list(self._calls.items()):
            if call_ref not in listed and call.seen <= since:
                del self._calls[call_ref]
                self._remember_ended(call)
        self._watching = True
        return events, set(self._calls)

    def end_all(self, at: datetime) -> list[CallEvent]:
        """End every live call: the phone they were on is being shut down by us."""
        return [self._end(call, RESET_BY_USER[0], at) for call in list(self._calls.values())]

    # -- inside ---------------------------------------------------------------------------

    def _track(
        self, call_ref: str, direction: Direction, account: str, uri: str, name: str
    ) -> TrackedCall:
        call = TrackedCall(call_ref, direction, account, uri, name, seen=self._seq)
        self._calls[call_ref] = call
        return call

    def _attach_dial(self, call: TrackedCall) -> None:
        now = time.monotonic()
        self._dials = [d for d in self._dials if d.expires > now]
        for pending in self._dials:
            if dial_matches(pending.dial_string, call.remote_number):
                call.dial_ref = pending.dial_ref
                self._dials.remove(pending)
                return

    def _end(self, call: TrackedCall, param: str, at: datetime) -> CallEvent:
        reason, side = ending(call.direction, call.established, param, call.hangup_requested)
        del self._calls[call.call_ref]
        self._remember_ended(call)
        return self._event(call, CallState.ENDED, at, reason, side)

    def _remember_ended(self, call: TrackedCall) -> None:
        self._ended[call.call_ref] = call.dial_ref
        while len(self._ended) > _KEEP_ENDED:
            self._ended.popitem(last=False)

    def _event(
        self,
        call: TrackedCall,
        state: CallState,
        at: datetime,
        end_reason: EndReason | None = None,
        hangup_by: HangupSide | None = None,
    ) -> CallEvent:
        call.state = state
        return CallEvent(
            line_id=self.line_id,
            call_ref=call.call_ref,
            direction=call.direction,
            state=state,
            at=at,
            remote_number=call.remote_number,
            remote_name=call.remote_name,
            end_reason=end_reason,
            hangup_by=hangup_by,
            dial_ref=call.dial_ref,
        )


def _str(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    return value if isinstance(value, str) else ""


# -- baresip 1.0.0's text answers ---------------------------------------------------------


def parse_listcalls(data: str) -> list[int]:
    """Line numbers of the calls `listcalls` shows (`[line 2]  0:00:05  ESTABLISHED  sip:…`)."""
    return [int(n) for n in re.findall(r"\[line (\d+)\]", plain(data))]


def parse_callstat(data: str) -> LiveCall | None:
    """The call `callstat` describes, or None ("no active calls")."""
    text = plain(data)
    state = re.search(r"Call debug \((\w+)\)", text)
    call_id = re.search(r"\bid=(\S+)", text)
    if state is None or call_id is None or state.group(1) not in _STATE_OF_CALLSTAT:
        return None
    direction = re.search(r"direction:\s*(\w+)", text)
    outgoing = direction is not None and direction.group(1).lower() == "outgoing"
    local = re.search(r"local_uri:\s*(.*)", text)
    peer = re.search(r"peer_uri:[ \t]*(.*)", text)
    name, uri = _split_name_addr(peer.group(1) if peer else "")
    return LiveCall(
        call_ref=call_id.group(1),
        direction=Direction.OUTGOING if outgoing else Direction.INCOMING,
        state=_STATE_OF_CALLSTAT[state.group(1)],
        account=_split_name_addr(local.group(1))[1] if local else "",
        remote_uri=uri,
        remote_name=name,
    )


def parse_reginfo(data: str) -> list[tuple[str, str]]:
    """(account AOR, registration status text) for each user agent `reginfo` lists."""
    agents = []
    for line in plain(data).splitlines():
        match = re.match(r"^[> ]\s*(sips?:\S+)\s*(.*)$", line)
        if match:
            agents.append((match.group(1), match.group(2).strip()))
    return agents


def _split_name_addr(text: str) -> tuple[str, str]:
    """`Anna Müller <sip:…>` → ("Anna Müller", "sip:…"); a bare URI has no name."""
    match = re.match(r"^\s*(.*?)\s*<([^>]*)>\s*$", text)
    if match is None:
        return "", text.strip()
    name = match.group(1)
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
    return name, match.group(2)


def live_calls(callstats: Sequence[str]) -> list[LiveCall]:
    """Distinct calls from several `callstat` answers (a vanished line repeats another)."""
    found: dict[str, LiveCall] = {}
    for data in callstats:
        call = parse_callstat(data)
        if call is not None:
            found.setdefault(call.call_ref, call)
    return list(found.values())
