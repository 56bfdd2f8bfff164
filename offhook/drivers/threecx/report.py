"""3CX's call journaling (the CRM template's ReportCall) → call events on the agent's line.

3CX posts once per call and agent, after the call, and sends no call id. The call reference is
therefore made from what identifies the call: the number and when it began (to the second), and
the agent where the start is unknown. The same report posted twice (3CX retries when an answer
is slow) gives the same reference and the same events: the core records it once. A call that
rang on several agents (a queue, a ring group) and was reported by each gets one reference, so
the journal shows it answered by one and answered elsewhere for the others.

| CallType | direction | outcome |
|---|---|---|
| Inbound | incoming | answered |
| Missed | incoming | missed |
| Outbound | outgoing | answered |
| Notanswered | outgoing | cancelled (3CX does not say busy or no answer) |

Times: 3CX's UTC start, established and end times where it sends them, else the end is when the
report arrives and the start that minus the duration.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from offhook.calls.events import CallEvent, CallState, Direction, EndReason

#: The longest call 3CX could report; longer durations are not believed.
MAX_DURATION = timedelta(days=2)
#: How far a reported time may lie from the report's arrival and still be taken as given.
MAX_SKEW = timedelta(days=3)

_DOTNET_LAYOUTS = ("%m/%d/%Y %I:%M:%S %p", "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S")

_TYPES = {
    "inbound": (Direction.INCOMING, True),
    "missed": (Direction.INCOMING, False),
    "outbound": (Direction.OUTGOING, True),
    "notanswered": (Direction.OUTGOING, False),
}


class CallReport(BaseModel):
    """What the ReportCall scenario of our template posts; every value is text, bounded."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    call_type: str = Field("", max_length=40)
    number: str = Field("", max_length=300)
    name: str = Field("", max_length=300)
    agent: str = Field("", max_length=100)
    agent_email: str = Field("", max_length=300)
    duration: str = Field("", max_length=40)
    date_time: str = Field("", max_length=100)
    start_utc: str = Field("", max_length=100)
    established_utc: str = Field("", max_length=100)
    end_utc: str = Field("", max_length=100)
    queue: str = Field("", max_length=100)
    contact_id: str = Field("", max_length=100)


def given(value: str) -> str:
    """A value as 3CX filled it in: a variable (or expression) it did not know arrives as
    written, in brackets."""
    return "" if value.startswith("[") and value.endswith("]") else value


class ReportError(ValueError):
    """The report cannot be journaled; the message says why (for 3CX's log)."""


@dataclass(frozen=True, slots=True)
class ReportedCall:
    call_ref: str
    direction: Direction
    answered: bool
    start: datetime
    connected: datetime | None
    end: datetime
    number: str
    name: str


def _time(value: str, now: datetime) -> datetime | None:
    text = given(value)
    if not text:
        return None
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        # .NET's default ToString() of a DateTime, by the 3CX's culture.
        for layout in _DOTNET_LAYOUTS:
            try:
                moment = datetime.strptime(text, layout)  # naive: UTC, set below
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the template sends the UTC times
    return moment if abs(moment - now) <= MAX_SKEW else None


def _seconds(value: str) -> timedelta | None:
    text = given(value).split(".", 1)[0].split(",", 1)[0]
    if not text.isdigit() or len(text) > 9:
        return None
    return min(timedelta(seconds=int(text)), MAX_DURATION)


def read(report: CallReport, now: datetime, system_id: int) -> ReportedCall:
    kind = _TYPES.get(given(report.call_type).lower())
    if kind is None:
        raise ReportError(f"unknown CallType {report.call_type[:40]!r}")
    direction, answered = kind
    number = given(report.number)
    duration = _seconds(report.duration) or timedelta(0)
    start = reported_start = _time(report.start_utc, now)
    end = _time(report.end_utc, now)
    connected = _time(report.established_utc, now) if answered else None
    if end is None:
        end = now if start is None else max(start, min(now, start + MAX_DURATION))
    if answered and connected is None:
        connected = end - duration
    if start is None:
        start = min(connected or end, end - duration)
    start = min(start, connected or start, end)
    if connected is not None:
        connected = min(max(connected, start), end)
    if reported_start is not None:
        second = reported_start.astimezone(UTC).isoformat(timespec="seconds")
        identity = f"{system_id}|{_digits(number)}|{second}"
    else:
        # No start from 3CX: the agent, the number and the end to the minute.
        minute = end.replace(second=0, microsecond=0).isoformat()
        identity = f"{system_id}|{given(report.agent)}|{_digits(number)}|{minute}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return ReportedCall(
        f"3cx-report:{digest}",
        direction,
        answered,
        start,
        connected,
        end,
        number,
        given(report.name),
    )


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit()) or number


def events(call: ReportedCall, line_id: int) -> list[CallEvent]:
    """The call's events on the agent's line, from its beginning to its end."""

    def event(state: CallState, at: datetime, reason: EndReason | None = None) -> CallEvent:
        return CallEvent(
            line_id=line_id,
            call_ref=call.call_ref,
            direction=call.direction,
            state=state,
            at=at,
            remote_number=call.number,
            remote_name=call.name,
            end_reason=reason,
        )

    first = CallState.RINGING if call.direction is Direction.INCOMING else CallState.DIALLING
    found = [event(first, call.start)]
    if call.connected is not None:
        found.append(event(CallState.CONNECTED, call.connected))
        reason: EndReason | None = EndReason.ANSWERED
    elif call.direction is Direction.INCOMING:
        # Left to the core: missed, unless the same call was answered on another line (a
        # queue call reported for each agent it rang).
        reason = None
    else:
        reason = EndReason.CANCELLED
    found.append(event(CallState.ENDED, call.end, reason))
    return found
