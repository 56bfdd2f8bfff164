"""The generic call-event push, in the format Zammad documents for its generic CTI
integration, as a `Push`: anything that already feeds Zammad feeds offhook unchanged.

`event` is `newCall`, `answer` or `hangup`; `from`, `to`, `direction` (`in`/`out`) and
`callId` come with each; `user` (or `user[]`, a JSON list, or `caller` as some of Zammad's
examples write it) names the users a new call rings or who dials it; `answeringNumber` who
answered (a phone number, login or id); `cause` why it ended (sipgate's causes). Sent as a
form, as multipart form-data or as JSON.
"""

from __future__ import annotations

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


def _users(fields: Fields) -> list[str]:
    names = [*fields.get("user", []), *fields.get("caller", [])]
    return [name.strip() for name in names if name.strip()]


def read_push(fields: Fields, plus: bool = True) -> Push | None:
    kind = KINDS.get(first(fields, "event"))
    if kind is None:
        return None
    call_id = first(fields, "callId")
    if not call_id:
        raise Refused(400, "A call event needs its callId.")
    if len(call_id) > MAX_CALL_ID:
        raise Refused(400, f"The callId is longer than {MAX_CALL_ID} characters.")
    direction = direction_of(first(fields, "direction"))
    if kind is PushKind.NEW and direction is None:
        raise Refused(400, "A newCall needs its direction: in or out.")
    users = _users(fields)
    answering = first(fields, "answeringNumber")
    answered_by: tuple[str, ...] = ()
    if kind is not PushKind.NEW:
        # Who answered: the answering number, else the one user named.
        answered_by = tuple(n for n in (answering, *(users if len(users) == 1 else [])) if n)
    number = international if plus else str.strip
    return Push(
        kind=kind,
        call_id=call_id,
        direction=direction,
        caller=number(first(fields, "from")),
        called=number(first(fields, "to")),
        users=tuple((name,) for name in users),
        answered_by=answered_by,
        voicemail=kind is PushKind.ANSWER and is_voicemail([answering, *users]),
        cause=first(fields, "cause"),
    )


def ending(cause: str, direction: Direction) -> Ending:
    """The hang-up causes of the generic format (the same as sipgate's)."""
    return cause_ending(cause, direction)
