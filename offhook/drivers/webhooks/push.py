"""The push: what a provider's call event says, in one shape for every provider.

Each driver reads its provider's fields into a `Push` (the only part that differs between
sipgate, Placetel and a generic PBX script); `tracker` turns pushes into call events.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from offhook.drivers import Direction, EndReason

#: The longest call id accepted. Providers use 20 to 64 characters (Placetel's is a SHA-256
#: in hex); a longer one is no provider's.
MAX_CALL_ID = 200


class PushKind(StrEnum):
    NEW = "new"  # a call rings on, or is dialled from, the users named
    ANSWER = "answer"
    HANGUP = "hangup"


@dataclass(frozen=True, slots=True)
class Push:
    kind: PushKind
    call_id: str
    direction: Direction | None = None
    #: The calling and the called number, as the provider wrote them.
    caller: str = ""
    called: str = ""
    #: The users the call rings on (incoming) or is dialled by (outgoing); each as the names
    #: the provider gives them (an id, a full id, a display name), best first.
    users: tuple[tuple[str, ...], ...] = ()
    #: Who answered (answer and hang-up), as the names the provider gives them.
    answered_by: tuple[str, ...] = ()
    #: Answered by a mailbox: for the users, a missed call.
    voicemail: bool = False
    #: The provider's word for why the call ended (hang-up).
    cause: str = ""
    #: The connected call's length in seconds, where the provider tells it (Placetel).
    duration: float | None = None
    #: The call this one continues (a forward or transfer), where the provider tells it.
    original_call_id: str = ""
    caller_name: str = ""


@dataclass(frozen=True, slots=True)
class Ending:
    """What a hang-up cause means for the call's lines."""

    #: The reason for a call that was not connected (None: the core derives missed/cancelled).
    reason: EndReason | None = None
    #: The provider says the call was answered, even if no answer event came.
    answered: bool = False
    #: The call went to a mailbox: missed.
    voicemail: bool = False
    #: The call was forwarded: whether it was missed depends on the next call's answer.
    forwarded: bool = False


def direction_of(text: str) -> Direction | None:
    return {"in": Direction.INCOMING, "out": Direction.OUTGOING}.get(text.strip().lower())


def is_voicemail(names: tuple[str, ...] | list[str]) -> bool:
    return any(name.strip().lower() == "voicemail" for name in names)


def international(text: str) -> str:
    """A number in E.164 without its plus (`492111234567`, as sipgate and Zammad's generic
    format write them) with the plus back, so that it is read as international and its caller
    found. Anything else (`anonymous`, an extension, a national number) stays as sent."""
    text = text.strip()
    if text.isdigit() and len(text) > 6 and not text.startswith("0"):
        return "+" + text
    return text


def cause_ending(cause: str, direction: Direction) -> Ending:
    """The hang-up causes sipgate.io defined, which Zammad's generic format took over."""
    outgoing = direction is Direction.OUTGOING
    match cause:
        case "normalClearing":  # hung up after the call was established
            return Ending(answered=True)
        case "busy":
            return Ending(EndReason.BUSY if outgoing else None)
        case "cancel":  # the caller hung up before anyone answered
            return Ending(EndReason.CANCELLED if outgoing else None)
        case "noAnswer":  # the called party rejected it (do not disturb)
            return Ending(EndReason.REJECTED)
        case "congestion":
            return Ending(EndReason.FAILED)
        case "notFound":  # no such number, or the called user is offline
            return Ending(EndReason.FAILED if outgoing else None)
        case "forwarded":
            return Ending(forwarded=True)
    return Ending()
