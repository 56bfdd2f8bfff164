"""The `3cx` driver: a 3CX phone system, one line per agent extension.

Without anything installed on the 3CX, its CRM integration (the template from `template`,
served by `web`) asks offhook for callers' names and reports every call when it ends; `report`
turns those reports into the agent's call history.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from offhook.calls.events import CallState, EndReason
from offhook.drivers.contract import Driver, LineState
from offhook.drivers.threecx.options import ThreeCxOptions
from offhook.drivers.threecx.report import CallReport, events, read

log = logging.getLogger(__name__)

#: Reports remembered to answer a repeat as such (the events would be harmless anyway).
REMEMBERED_REPORTS = 4096


class ThreeCxDriver(Driver):
    name: ClassVar[str] = "3cx"
    title: ClassVar[str] = "3CX"
    description: ClassVar[str] = (
        "Caller names in the 3CX clients and every call in the agent's history, through 3CX's "
        "CRM integration (nothing to install on the 3CX)."
    )
    line_address_label: ClassVar[str] = "Extension"
    line_address_example: ClassVar[str] = "101"
    routes: ClassVar[str | None] = "offhook.drivers.threecx.web:router"
    settings_links: ClassVar[tuple[tuple[str, str], ...]] = (
        ("Download the 3CX CRM template", "/drivers/3cx/systems/{system_id}/crm-template.xml"),
    )

    Options = ThreeCxOptions

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.options = ThreeCxOptions.model_validate(dict(context.options))
        #: Reports already journaled ("call_ref|line_id"), and whether the call was answered.
        self._reported: OrderedDict[str, bool] = OrderedDict()

    async def start(self) -> None:
        self.context.set_status(LineState.CONNECTED, "waiting for 3CX's CRM requests")

    async def stop(self) -> None:
        self.context.set_status(LineState.STOPPED)

    async def lines_changed(self) -> None:
        return  # lines are looked up on each report

    def token(self) -> str:
        return self.options.crm_token.get_secret_value()

    def journal(self, report: CallReport, now: datetime | None = None) -> dict[str, Any]:
        """Put a call 3CX reported into its agent's call history; what happened, for 3CX."""
        call = read(report, now or datetime.now(UTC), self.context.system_id)
        line = self.context.line_for(report.agent) if report.agent else None
        if line is None:
            return {"recorded": False, "why": "no line in offhook for this extension"}
        key = f"{call.call_ref}|{line.id}"
        if key in self._reported:
            # 3CX posted it again: already recorded (after a restart the call reference, being
            # the same, keeps the core from recording it twice).
            return {"recorded": True, "repeat": True, "line_id": line.id}
        answered_elsewhere = not call.answered and any(
            self._reported.get(f"{call.call_ref}|{other}") for other in self.context.lines
        )
        for event in events(call, line.id):
            if answered_elsewhere and event.state is CallState.ENDED:
                # A queue call another agent answered, reported after theirs.
                event = replace(event, end_reason=EndReason.ANSWERED_ELSEWHERE)
            self.context.emit(event)
        self._reported[key] = call.answered
        while len(self._reported) > REMEMBERED_REPORTS:
            self._reported.popitem(last=False)
        return {"recorded": True, "repeat": False, "line_id": line.id}
