"""The call event: the one fact a line driver reports about a call.

Drivers translate whatever their phone system says (baresip JSON, AMI events, FRITZ!Box lines,
webhooks) into these. Everything after this point is driver-neutral.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from offhook.store.types import utcnow

#: The longest call reference kept as the driver gave it; `calls.call_ref` holds this many.
STORED_REF_LENGTH = 200
#: What marks a stored reference that is a digest (see `stored_ref`).
DIGEST_PREFIX = "sha256:"
#: The longest call reference a driver may hand in (a SIP Call-ID has no limit of its own, and
#: the caller chooses it). Longer ones are replaced by their digest on the event itself, so
#: that no event record ever holds a megabyte of a caller's text.
MAX_CALL_REF = 2000
#: Dial references are offhook's own (`calls.dial_ref` holds 64 characters).
MAX_DIAL_REF = 64
#: Remote numbers and names longer than this are cut on the event: the store keeps 300
#: characters, and a number is parsed before it is stored.
MAX_REMOTE_TEXT = 1000


def stored_ref(call_ref: str) -> str:
    """The form of a call reference that the store holds and looks up.

    References up to `STORED_REF_LENGTH` characters are kept as they are (every reference a
    phone system normally makes, and every one stored before this rule). Longer ones become a
    SHA-256 digest of the whole reference: fixed length, so it fits the column and its unique
    index on every database (PostgreSQL cannot index text of any length), and two references
    that share a long prefix stay two calls. A short reference that looks like a digest is
    digested too, so a caller cannot choose a reference that collides with a long one.
    Widening the column instead would only move the limit.
    """
    if len(call_ref) <= STORED_REF_LENGTH and not call_ref.startswith(DIGEST_PREFIX):
        return call_ref
    return DIGEST_PREFIX + hashlib.sha256(call_ref.encode("utf-8", "surrogatepass")).hexdigest()


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class CallState(StrEnum):
    RINGING = "ringing"  # incoming, not yet answered
    DIALLING = "dialling"  # outgoing, not yet answered
    CONNECTED = "connected"
    ENDED = "ended"

    @property
    def rank(self) -> int:
        """Calls only move forward: ringing/dialling (0) → connected (1) → ended (2)."""
        return _RANK[self]


_RANK = {
    CallState.RINGING: 0,
    CallState.DIALLING: 0,
    CallState.CONNECTED: 1,
    CallState.ENDED: 2,
}


class EndReason(StrEnum):
    ANSWERED = "answered"  # was connected, then hung up by either side
    MISSED = "missed"  # incoming, never answered (the caller gave up or nobody picked up)
    BUSY = "busy"  # outgoing, the other side was busy
    REJECTED = "rejected"  # incoming, declined by us; or outgoing, declined by the other side
    CANCELLED = "cancelled"  # outgoing, we gave up before it was answered
    FAILED = "failed"  # the phone system could not set the call up
    # incoming, rang on this line too (a ring group, a queue) and was answered on another
    ANSWERED_ELSEWHERE = "answered_elsewhere"


class HangupSide(StrEnum):
    LOCAL = "local"
    REMOTE = "remote"


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One thing that happened to one call on one line.

    `call_ref` is the driver's own reference for the call (a SIP Call-ID, an Asterisk Linkedid…),
    unique on its line, of any length (the store keeps long ones as a digest, see `stored_ref`;
    beyond `MAX_CALL_REF` characters the event itself holds the digest). Events may arrive
    twice, late or out of order; the state machine in `offhook.calls.machine` copes with that,
    so drivers report what they see and nothing more.

    `end_reason` may be left empty on an `ended` event when the driver cannot tell (baresip says
    "Connection reset by peer" both for a missed call and a remote hang-up): the state machine
    then derives it from whether the call was ever connected.

    `dial_ref` is the reference offhook passed to `LineDriver.dial`: the driver sets it on the
    events of a call it placed for offhook until the phone system's own reference is known, so
    the call the journal already shows as dialling is the one that gets connected.

    `remote_number` is the number exactly as the phone system delivered it (a SIP URI, `0041…`,
    `anonymous`…) and `remote_name` its display name. Both are attacker-controlled text.

    `party_changed` says the line now talks to someone else than before (a transfer, a pickup
    of the call the line placed): its `remote_number` and `remote_name` replace the call's
    instead of only filling them in when empty. Drivers send these in the order they happened.
    """

    line_id: int
    call_ref: str
    direction: Direction
    state: CallState
    at: datetime = field(default_factory=utcnow)
    remote_number: str = ""
    remote_name: str = ""
    end_reason: EndReason | None = None
    hangup_by: HangupSide | None = None
    dial_ref: str | None = None
    party_changed: bool = False

    def __post_init__(self) -> None:
        if not self.call_ref:
            raise ValueError("a call event needs the driver's call reference")
        if len(self.call_ref) > MAX_CALL_REF:
            object.__setattr__(self, "call_ref", stored_ref(self.call_ref))
        if self.dial_ref is not None and len(self.dial_ref) > MAX_DIAL_REF:
            # Not one offhook made: it matches no call, so it must not reach the store.
            object.__setattr__(self, "dial_ref", None)
        for name in ("remote_number", "remote_name"):
            if len(getattr(self, name)) > MAX_REMOTE_TEXT:
                object.__setattr__(self, name, getattr(self, name)[:MAX_REMOTE_TEXT])
        if self.at.tzinfo is None:
            raise ValueError("call event times must carry a time zone")
        if self.state is CallState.RINGING and self.direction is Direction.OUTGOING:
            # Some phone systems say "ringing" for the far end ringing: that is still dialling.
            object.__setattr__(self, "state", CallState.DIALLING)
        if self.state is CallState.DIALLING and self.direction is Direction.INCOMING:
            object.__setattr__(self, "state", CallState.RINGING)
