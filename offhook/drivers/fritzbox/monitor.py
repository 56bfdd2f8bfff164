"""The FRITZ!Box call monitor's protocol: lines of text on TCP port 1012, one event each.

    28.11.20 15:17:43;RING;2;0301234567;987654;SIP0;
    28.11.20 15:17:43;CALL;3;10;987654;0301234567;SIP0;
    28.11.20 15:17:47;CONNECT;2;10;0301234567;
    28.11.20 15:17:50;DISCONNECT;2;4;

Fields are separated by `;`; most boxes end each line with one more `;` and LF, some with CRLF,
and some tools leave the last `;` out: all are accepted. The connection id (third field) ties the
lines of one call together and is reused once the call is over. What each event carries:

| event | fields after the connection id |
|---|---|
| RING | caller's number (empty: withheld), own number called (the MSN), trunk (SIP0, ISDN) |
| CALL | the phone's call-monitor id, own number used, number dialled, trunk |
| CONNECT | the phone's call-monitor id, remote number |
| DISCONNECT | seconds connected (0: never connected) |

`LineFramer` cuts whatever TCP delivers into lines, bounded so that a peer that never sends a
newline cannot fill the memory; `parse` turns one line into a `MonitorEvent`, or None for
anything that is not one of the four events. Neither raises on anything a peer sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

#: A call-monitor line is well under 200 bytes; one longer than this is not one, and is skipped.
MAX_LINE = 1024
#: Numbers and ids longer than this are cut: they are the caller's to choose (a SIP trunk passes
#: on whatever the far end sends).
MAX_FIELD = 200
#: The longest call the box could report, in seconds (a week); anything beyond is bogus.
MAX_DURATION = 7 * 24 * 3600

_STAMP = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{2,4})\s+(\d{1,2}):(\d{2}):(\d{2})\s*$")


class Kind(StrEnum):
    RING = "RING"  # an incoming call rings
    CALL = "CALL"  # a phone on the box dials out
    CONNECT = "CONNECT"  # a call is answered
    DISCONNECT = "DISCONNECT"  # a call ended


@dataclass(frozen=True, slots=True)
class MonitorEvent:
    """One call-monitor line, as facts. Fields an event does not carry are empty."""

    kind: Kind
    connection: str
    #: The box's own time stamp, as sent (local time, no zone; some boxes send the time only).
    stamp: str = ""
    #: The phone's call-monitor id (CALL, CONNECT): 0-2 FON1-3, 4 ISDN, 10-19 DECT …
    device: str = ""
    #: The remote party: the caller (RING), the number dialled (CALL), the other side (CONNECT).
    remote: str = ""
    #: The box's own number involved: called (RING) or used to dial out (CALL).
    own_number: str = ""
    trunk: str = ""
    #: Seconds connected (DISCONNECT); 0 when never connected.
    duration: int = 0

    def stamp_time(self) -> datetime | None:
        """The box's time stamp as a naive local time, if it has a date."""
        match = _STAMP.match(self.stamp)
        if match is None:
            return None
        day, month, year, hour, minute, second = (int(g) for g in match.groups())
        try:
            return datetime(year + 2000 if year < 100 else year, month, day, hour, minute, second)
        except ValueError:
            return None


def _field(fields: list[str], index: int) -> str:
    return fields[index].strip()[:MAX_FIELD] if index < len(fields) else ""


def parse(line: str) -> MonitorEvent | None:
    """One call-monitor line as an event; None for blank lines, comments and anything else."""
    fields = line.rstrip("\r\n").split(";")
    if len(fields) < 3:
        return None
    try:
        kind = Kind(fields[1].strip().upper())
    except ValueError:
        return None
    connection = _field(fields, 2)
    if not connection:
        return None
    stamp = _field(fields, 0)
    if kind is Kind.RING:
        return MonitorEvent(
            kind,
            connection,
            stamp,
            remote=_field(fields, 3),
            own_number=_field(fields, 4),
            trunk=_field(fields, 5),
        )
    if kind is Kind.CALL:
        return MonitorEvent(
            kind,
            connection,
            stamp,
            device=_field(fields, 3),
            own_number=_field(fields, 4),
            remote=_field(fields, 5),
            trunk=_field(fields, 6),
        )
    if kind is Kind.CONNECT:
        return MonitorEvent(
            kind, connection, stamp, device=_field(fields, 3), remote=_field(fields, 4)
        )
    seconds = _field(fields, 3)
    duration = int(seconds) if seconds.isdigit() and len(seconds) < 10 else 0
    return MonitorEvent(kind, connection, stamp, duration=min(duration, MAX_DURATION))


class LineFramer:
    """Cut a byte stream into text lines (LF or CRLF), whatever the chunking.

    A line longer than `MAX_LINE` is dropped up to its end, and counted in `skipped`; the bytes
    are decoded as UTF-8 with replacement (the box sends ASCII; a trunk may pass on anything).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skipping = False
        self.skipped = 0

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            piece = data[start:end]
            if self._skipping:
                self._skipping = False
            elif len(self._buffer) + len(piece) <= MAX_LINE:
                self._buffer += piece
                lines.append(self._buffer.decode("utf-8", "replace").rstrip("\r"))
            else:
                self.skipped += 1
            self._buffer.clear()
            start = end + 1
        rest = data[start:]
        if not self._skipping:
            if len(self._buffer) + len(rest) > MAX_LINE:
                self._buffer.clear()
                self._skipping = True
                self.skipped += 1
            else:
                self._buffer += rest
        return lines
