"""sipgate.io's push fields (newCall, answer, hangup; dtmf is no call event) as a `Push`.

sipgate posts forms: `user[]`, `userId[]` and `fullUserId[]` name every user a new call rings
(or the one who dials); `user`, `userId`, `fullUserId` and `answeringNumber` who answered;
`origCallId` the call a forwarded or transferred one continues.
"""

from __future__ import annotations

from itertools import zip_longest

from offhook.drivers import Direction
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
from offhook.drivers.webhooks.push import MAX_CALL_ID, cause_ending, international

KINDS = {"newCall": PushKind.NEW, "answer": PushKind.ANSWER, "hangup": PushKind.HANGUP}


def _names(*values: str) -> tuple[str, ...]:
    return tuple(value.strip() for value in values if value and value.strip())


def read_push(fields: Fields) -> Push | None:
    kind = KINDS.get(first(fields, "event"))
    if kind is None:
        return None  # dtmf, or an event sipgate may add: nothing for the journal
    call_id = first(fields, "callId")
    if not call_id:
        raise Refused(400, "A sipgate push needs its callId.")
    if len(call_id) > MAX_CALL_ID:
        raise Refused(400, f"The callId is longer than {MAX_CALL_ID} characters.")
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
        caller=international(first(fields, "from")),
        called=international(first(fields, "to")),
        users=users,
        answered_by=answered_by,
        voicemail=kind is PushKind.ANSWER and is_voicemail([first(fields, "user")]),
        cause=first(fields, "cause"),
        original_call_id=first(fields, "origCallId"),
    )


def ending(cause: str, direction: Direction) -> Ending:
    """sipgate's hang-up causes (the push API's table)."""
    return cause_ending(cause, direction)
