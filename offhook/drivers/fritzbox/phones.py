"""Which of the phone system's lines a call-monitor event belongs to.

A line's address on a FRITZ!Box is either

- a **phone** on the box, by its internal number as dialled from another phone on the box:
  `**1`-`**3` (analogue FON 1-3), `**610`-`**619` (DECT handsets), `**620`-`**629` (IP phones),
  `**51`-`**58` (ISDN), `**600`-`**604` (answering machines). The line gets the calls this phone
  dials and answers, and the incoming calls of its numbers (the line's `numbers` option; none
  given: every incoming call rings on it, as on a box where every phone rings for every number);
- or one of the box's **own numbers** (an MSN, as the box shows it in the call monitor): the line
  gets the calls to that number, and the calls made with it from phones that have no line of
  their own here; a call to it that a phone with a line took shows as answered elsewhere.

The call monitor names phones by an id of its own (CALL and CONNECT lines). The ids of the
internal numbers follow the table the call-monitor projects publish (fhem's
72_FB_CALLMONITOR, Home Assistant's fritzbox_callmonitor): FON 1-3 are 0-2, ISDN 4, DECT 10-19,
IP phones 20-29, answering machines 40-44. Where a box reports another id for a phone, the line's
`monitor_id` option says which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from offhook.drivers.contract import LineInfo

_INTERNAL = re.compile(r"^\*\*(\d{1,3})$")
#: Call-monitor ids of answering machines: a call they take is not answered by a person.
ANSWERING_MACHINES = frozenset(str(i) for i in range(40, 50))


def monitor_id(internal_number: str) -> str | None:
    """The call-monitor id of the phone with this internal number (`**610` → `10`), if known."""
    match = _INTERNAL.match(internal_number.strip())
    if match is None:
        return None
    number = int(match.group(1))
    if 1 <= number <= 3:
        return str(number - 1)
    if 51 <= number <= 58:
        return "4"
    if 600 <= number <= 604:
        return str(number - 560)
    if 610 <= number <= 629:
        return str(number - 600)
    return None


def digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def same_number(a: str, b: str) -> bool:
    """Whether two of the box's own numbers are the same: as written, or by their digits, one
    possibly without the area code the other has (boxes show MSNs both ways)."""
    if a.strip() == b.strip() and a.strip():
        return True
    da, db = digits(a), digits(b)
    if not da or not db:
        return False
    if da == db:
        return True
    short, long = sorted((da, db), key=len)
    return len(short) >= 5 and long.endswith(short)


@dataclass(frozen=True, slots=True)
class LineRoute:
    """What one line listens to."""

    line_id: int
    #: The phone's call-monitor id, for a phone line.
    device: str | None
    #: A phone line: the own numbers whose incoming calls ring on it (empty: all).
    #: A number line: its one number.
    numbers: tuple[str, ...]

    @property
    def is_number(self) -> bool:
        return self.device is None


class Routes:
    """The lines of one FRITZ!Box, indexed for the call monitor's events."""

    def __init__(self, lines: Mapping[int, LineInfo]) -> None:
        self._routes: list[LineRoute] = []
        for info in lines.values():
            device = info.options.get("monitor_id") or monitor_id(info.address)
            if device is not None:
                numbers = tuple(str(n) for n in info.options.get("numbers") or ())
                self._routes.append(LineRoute(info.id, str(device), numbers))
            else:
                self._routes.append(LineRoute(info.id, None, (info.address,)))
        # The first line of each phone (two lines on one phone: the first takes its calls).
        self._phones: dict[str, int] = {}
        for route in self._routes:
            if route.device is not None:
                self._phones.setdefault(route.device, route.line_id)

    def ringing(self, own_number: str) -> list[int]:
        """The lines an incoming call to `own_number` rings on."""
        return [
            route.line_id
            for route in self._routes
            if (not route.numbers and not route.is_number)
            or any(same_number(own_number, n) for n in route.numbers)
        ]

    def phone(self, device: str) -> int | None:
        """The line of the phone with this call-monitor id."""
        return self._phones.get(device.strip())

    def number(self, own_number: str) -> list[int]:
        """The number lines of `own_number`."""
        return [
            r.line_id
            for r in self._routes
            if r.is_number and any(same_number(own_number, n) for n in r.numbers)
        ]

    def taken(self, device: str, own_number: str) -> list[int]:
        """The lines of a call a phone dials or answers: the phone's line; where the phone has
        none, the lines of the own number the call is on. (A number line of a call its
        phone's line took shows it as answered elsewhere, by the core.)"""
        phone = self.phone(device)
        return [phone] if phone is not None else self.number(own_number)
