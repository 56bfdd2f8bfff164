"""Running the fritzbox driver against the local call monitor, with lines that have options."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from offhook.calls.events import CallState
from offhook.drivers.contract import LineInfo
from offhook.drivers.fritzbox import FritzboxDriver
from offhook.drivers.testing import RecordingContext


class FritzContext(RecordingContext):
    """The test kit's context, with each line's options (the FRITZ!Box's lines have some)."""

    def __init__(
        self,
        options: Mapping[str, Any],
        lines: Mapping[int, str],
        line_options: Mapping[int, Mapping[str, Any]] | None = None,
        users: Mapping[int, int] | None = None,
    ) -> None:
        super().__init__(options=options, lines=lines)
        self.line_options = {k: dict(v) for k, v in (line_options or {}).items()}
        #: Whose each line is (default: each line its own user's).
        self.users = dict(users or {})

    @property
    def lines(self) -> Mapping[int, LineInfo]:
        return {
            line_id: LineInfo(
                id=line_id,
                address=address,
                user_id=self.users.get(line_id, line_id),
                options=FritzboxDriver.LineOptions.model_validate(
                    self.line_options.get(line_id, {})
                ).model_dump(),
            )
            for line_id, address in self.addresses.items()
        }


def duration(context: RecordingContext, call_ref: str, line_id: int) -> timedelta | None:
    """The call's duration on the line as the core would compute it (earliest connect, earliest
    end)."""
    connected = [
        e.at
        for e in context.events
        if e.call_ref == call_ref and e.line_id == line_id and e.state is CallState.CONNECTED
    ]
    ended = [
        e.at
        for e in context.events
        if e.call_ref == call_ref and e.line_id == line_id and e.state is CallState.ENDED
    ]
    if not connected or not ended:
        return None
    return min(ended) - min(connected)


def reason(context: RecordingContext, call_ref: str, line_id: int) -> str | None:
    for e in context.events:
        if e.call_ref == call_ref and e.line_id == line_id and e.state is CallState.ENDED:
            return e.end_reason.value if e.end_reason else None
    return None
