"""Placetel's notify fields (IncomingCall, OutgoingCall, CallAccepted, HungUp) as a `Push`.

Placetel posts forms with `call_id` (a SHA-256 in hex). `peer` names the SIP user who dials
(OutgoingCall) or answers (CallAccepted); an incoming call names only the number called (`to`),
so lines list the numbers that ring them. `HungUp` gives a `type` and the answered call's
`duration` in seconds.
"""

from __future__ import annotations

import hashlib
import hmac

from offhook.drivers import Direction, EndReason
from offhook.drivers.webhooks import (
    Ending,
    Fields,
    Push,
    PushKind,
    Refused,
    direction_of,
    first,
    is_voicemail,
)
from offhook.drivers.webhooks.push import MAX_CALL_ID

SIGNATURE_HEADER = "x-placetel-signature"
#: The longest call Placetel may report as answered, in seconds: a day.
MAX_DURATION = 86_400.0

EVENTS = {
    "IncomingCall": (PushKind.NEW, Direction.INCOMING),
    "OutgoingCall": (PushKind.NEW, Direction.OUTGOING),
    "CallAccepted": (PushKind.ANSWER, None),
    "HungUp": (PushKind.HANGUP, None),
}


def signature(secret: str, body: bytes) -> str:
    """Placetel's `X-PLACETEL-SIGNATURE`: HMAC-SHA256 of the raw body, in hex."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_signed(secret: str, body: bytes, sent: str) -> bool:
    return hmac.compare_digest(signature(secret, body), sent.strip().lower())


def _duration(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_DURATION else None


def read_push(fields: Fields) -> Push | None:
    known = EVENTS.get(first(fields, "event"))
    if known is None:
        return None
    kind, direction = known
    call_id = first(fields, "call_id")
    if not call_id or len(call_id) > MAX_CALL_ID:
        raise Refused(400, "A Placetel notification needs its call_id.")
    peer = first(fields, "peer")
    # Zammad's specs send the answering user as `user`; Placetel documents `peer`.
    user = first(fields, "user")
    names = tuple(name for name in (peer, user) if name)
    return Push(
        kind=kind,
        call_id=call_id,
        direction=direction or direction_of(first(fields, "direction")),
        caller=first(fields, "from"),
        called=first(fields, "to"),
        users=(names,) if kind is PushKind.NEW and names else (),
        answered_by=names if kind is not PushKind.NEW else (),
        voicemail=kind is PushKind.ANSWER and is_voicemail(names),
        cause=first(fields, "type"),
        duration=_duration(first(fields, "duration")),
    )


def ending(cause: str, direction: Direction) -> Ending:
    """Placetel's hang-up types (the notify API's table)."""
    match cause:
        case "accepted":
            return Ending(answered=True)
        case "voicemail":
            return Ending(voicemail=True)
        case "missed":  # nobody picked up
            return Ending()
        case "blocked":
            return Ending(EndReason.REJECTED)
        case "busy":
            return Ending(EndReason.BUSY)
        case "canceled":
            return Ending(EndReason.CANCELLED)
        case "unavailable" | "congestion":
            return Ending(EndReason.FAILED)
    return Ending()
