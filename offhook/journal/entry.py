"""The journal entry: one call as the journal, the call history and the browser see it, and the
messages of the live journal stream.

The recorder reads entries back after each change, the push hub carries them to the browsers,
`/api/journal` and its stream serve them, and the pages render them: all from these models, so
the JSON `journal.js` reads and the schema `/api/docs` shows are the same thing. Every text in an
entry is plain text; whoever shows it escapes it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from offhook.calls.events import CallState, Direction
from offhook.drivers.contract import LineState
from offhook.numbers import NumberKind

Icon = Literal["ringing", "ongoing", "incoming", "outgoing"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineStatus(_Model):
    """Whether a line is connected to its phone system."""

    id: int = Field(description="The line's id.")
    state: LineState = Field(description="How the line's connection to its phone system stands.")
    reason: str = Field(
        "", description="Why the line is failed or reconnecting; empty when it is fine."
    )
    reason_shown: str = Field(
        "",
        description="The reason in the user's language, as the journal shows it (`reason` is "
        "in English).",
    )


class LineOverview(LineStatus):
    """A line of the user's, as the journal lists it above the calls."""

    title: str = Field(description="The line's name, as the user gave it.")
    driver: str = Field(description="The driver the line runs on (sip, simulator…).")


class EntryLine(_Model):
    """The line a call came in or went out on."""

    id: int = Field(description="The line's id.")
    title: str = Field(description="The line's name.")
    # A snapshot's entries carry no status at all, not a null one.
    status: LineStatus | None = Field(
        None,
        exclude_if=lambda status: status is None,
        description="The line's status at the moment of the change; only in a live `call` "
        "message, absent from a snapshot (which lists the lines separately).",
    )


class EntryNumber(_Model):
    """The other party's number."""

    raw: str = Field(description="The number exactly as the phone system delivered it.")
    display: str = Field(description="The number written for reading, as the firm writes it.")
    e164: str | None = Field(description="The number in E.164 form, if it is a public number.")
    kind: NumberKind = Field(description="What kind of number it is.")
    dial: str | None = Field(
        description="What to dial to call it back; null if it cannot be called back."
    )


class EntryAddress(_Model):
    """The address the call's number belongs to."""

    id: int = Field(description="The address's id.")
    name: str = Field(description="The person's or company's name.")
    full_address: str = Field(description="The postal address on one line.")
    match: str | None = Field(
        description="How the number was matched: exact, switchboard or internal."
    )
    chosen: bool = Field(description="Whether the user chose this address among several.")


class EntryColleague(_Model):
    """The colleague on the other end of an internal call."""

    id: int = Field(description="The colleague's user id.")
    name: str = Field(description="The colleague's name.")


class EntryCapabilities(_Model):
    """What the user can do with the call now."""

    dial: bool = Field(description="Call the number back through offhook.")
    tel: bool = Field(
        description="Call the number back through a tel: link (the line cannot dial)."
    )
    answer: bool = Field(description="Answer the ringing call.")
    hangup: bool = Field(description="Hang up (a ringing call is rejected).")
    create_address: bool = Field(description="Create an address for the unknown number.")
    choose_address: bool = Field(description="Choose among the several addresses the number has.")
    activity: bool = Field(description="Make an activity of the call.")
    service: bool = Field(description="Make a service of the call (it was connected and ended).")
    call_back: bool = Field(description="Offer to call back (it ended without being connected).")
    mark_done: bool = Field(False, description="Mark the missed call done without calling back.")


class JournalEntry(_Model):
    """One call in the user's journal."""

    id: int = Field(description="The call's id.")
    line: EntryLine
    direction: Direction = Field(description="Whether the call came in or went out.")
    state: CallState = Field(description="Where the call stands.")
    icon: Icon = Field(description="Which of the journal's four icons the call shows.")
    icon_label: str = Field(description="The icon's meaning in words, for screen readers.")
    end_reason: str | None = Field(
        description="Why the call ended (answered, missed, busy, rejected, cancelled, failed, "
        "answered_elsewhere); null while it is going on."
    )
    end_reason_label: str = Field(
        description="The end reason in words; empty for an answered or open call."
    )
    answered_by: str | None = Field(
        None,
        description="Who answered a ring-group call instead of this user, when it was answered "
        "elsewhere.",
    )
    answer_note: str | None = Field(
        None,
        description="Why a ringing call offers no answer button (its phone system cannot "
        "answer from offhook: pick up the phone); null otherwise.",
    )
    missed: bool = Field(description="An incoming call nobody answered.")
    missed_open: bool = Field(
        False,
        description="A missed call nobody has called back or marked done yet: open work.",
    )
    missed_closed: str | None = Field(
        None,
        description="How a missed call was closed: called_back, answered (the caller rang "
        "again and was answered) or done (marked by a user); null while open.",
    )
    started_at: str = Field(description="When it began to ring or was dialled (ISO 8601, UTC).")
    connected_at: str | None = Field(description="When it was answered (ISO 8601, UTC).")
    ended_at: str | None = Field(description="When it ended (ISO 8601, UTC).")
    time: str = Field(description="The start's time of day in the firm's zone: 09:41.")
    date: str = Field(description="The start's day in the firm's zone: 26.11.2026.")
    duration: int | None = Field(
        description="Seconds connected so far; null if it never was connected."
    )
    number: EntryNumber
    remote_name: str | None = Field(description="The name the phone system gave for the caller.")
    address: EntryAddress | None = Field(description="The address the number belongs to.")
    colleague: EntryColleague | None = Field(description="The colleague on an internal call.")
    match_count: int = Field(description="How many addresses the number belongs to.")
    ended_by_offhook: str | None = Field(
        description="Why offhook itself marked the call ended (the phone system could no "
        "longer say); null if the phone system ended it."
    )
    activity_id: int | None = Field(description="The newest activity made of this call.")
    service_id: int | None = Field(description="The newest service made of this call.")
    not_billable: bool = Field(
        False,
        description="The user marked the call as not to be billed (so it is off the list of "
        "unbilled calls).",
    )
    can: EntryCapabilities


class JournalSnapshot(_Model):
    """The whole journal: today's calls, newest first, and the user's lines."""

    type: Literal["snapshot"] = "snapshot"
    entries: list[JournalEntry] = Field(description="Today's calls, newest first.")
    lines: list[LineOverview] = Field(description="The user's lines and their status.")
    day: str = Field("", description="Today's date, written as the entries' `date` is.")


class CallChanged(_Model):
    """A call was added to the journal or changed."""

    type: Literal["call"] = "call"
    entry: JournalEntry


class LineChanged(_Model):
    """A line's status changed."""

    type: Literal["line"] = "line"
    line: LineStatus


# Every message of the live journal stream, by its `event:` name.
STREAM_MESSAGES: dict[str, type[BaseModel]] = {
    "snapshot": JournalSnapshot,
    "call": CallChanged,
    "line": LineChanged,
}
# A message of the stream, told apart by its `type`.
StreamMessage = Annotated[JournalSnapshot | CallChanged | LineChanged, Field(discriminator="type")]
