"""sipgate.io's push fields (newCall, answer, hangup; dtmf is no call event) as a `Push`.

sipgate posts forms: `user[]`, `userId[]` and `fullUserId[]` name every user a new call rings
(or the one who dials); `user`, `userId`, `fullUserId` and `answeringNumber` who answered;
`origCallId` the call a forwarded or transferred one continues.
"""

from __future__ import annotations

from itertools import zip_longest

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

KINDS = {"newCall": PushKind.NEW, "answer": PushKind.ANSWER, "hangup": PushKind.HANGUP}


def number(text: str) -> str:
    """sipgate writes public numbers in E.164 without the plus (`492111234567`): give it back,
    so the number is read as international and its caller found. Anything else (`anonymous`,
    an extension) stays as sent."""
    text = text.strip()
    if text.isdigit() and len(text) > 6 and not text.startswith("0"):
        return "+" + text
    return text


def _names(*values: str) -> tuple[str, ...]:
    return tuple(value.strip() for value in values if value and value.strip())


def read_push(fields: Fields) -> Push | None:
    kind = KINDS.get(first(fields, "event"))
    if kind is None:
        return None  # dtmf, or an event sipgate may add: nothing for the journal
    call_id = first(fields, "callId")
    if not call_id or len(call_id) > MAX_CALL_ID:
        raise Refused(400, "A sipgate push needs its callId.")
    users: tuple[tuple[str, ...], ...] = ()
    answered_by: tuple[str, ...] = ()
    if kind is PushKind.NEW:
        users = tuple(
            names
            for full, short, name in zip_longest(
                fields.get("fullUserId", []),
                fields.get("userId", []),
                fields.get("user", []),
                fillvalue="",
            )
            if (names := _names(full, short, name))
        )
    else:
        answered_by = _names(
            first(fields, "fullUserId"),
            first(fields, "userId"),
            first(fields, "user") if kind is PushKind.ANSWER else "",
            first(fields, "answeringNumber"),
        )
    return Push(
        kind=kind,
        call_id=call_id,
        direction=direction_of(first(fields, "direction")),
        caller=number(first(fields, "from")),
        called=number(first(fields, "to")),
        users=users,
        answered_by=answered_by,
        voicemail=kind is PushKind.ANSWER and is_voicemail([first(fields, "user")]),
        cause=first(fields, "cause"),
        original_call_id=first(fields, "origCallId"),
    )


def ending(cause: str, direction: Direction) -> Ending:
    """sipgate's hang-up causes (the push API's table)."""
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
