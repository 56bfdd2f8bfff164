"""The `3cx` driver: a 3CX phone system, one line per agent extension.

Without anything installed on the 3CX, its CRM integration (the template from `template`,
served by `web`) asks offhook for callers' names and reports every call when it ends; `report`
turns those reports into the agent's call history. With an API client of the 3CX's Call Control
API (`callcontrol`), the journal is live instead: `participants` turns the 3CX's participant
events into call events; calls are placed and dropped through the same API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from offhook.calls.events import CallState, EndReason
from offhook.drivers.contract import (
    DialRequest,
    Driver,
    DriverError,
    LineState,
    NotSupported,
    PhoneSystemContext,
)
from offhook.drivers.threecx.callcontrol import CallControl, CallControlError
from offhook.drivers.threecx.options import ThreeCxOptions
from offhook.drivers.threecx.participants import Participants, entity
from offhook.drivers.threecx.report import CallReport, events, read
from offhook.settings.language import N_

log = logging.getLogger(__name__)

#: Reports remembered to answer a repeat as such (the events would be harmless anyway).
REMEMBERED_REPORTS = 4096
#: Back-off between reconnects to the Call Control API, doubling.
RETRY_FIRST = 1.0
RETRY_MAX = 60.0
#: A connection that lasted this long was a working one: the back-off starts over after it.
STABLE_SECONDS = 30.0


class ThreeCxDriver(Driver):
    name: ClassVar[str] = "3cx"
    title: ClassVar[str] = "3CX"
    description: ClassVar[str] = N_(
        "Caller names in the 3CX clients and every call in the agent's history through 3CX's "
        "CRM integration (nothing to install on the 3CX); with an API client, the journal live "
        "and click to dial through its Call Control API."
    )
    can_dial: ClassVar[bool] = True
    can_hangup: ClassVar[bool] = True
    line_address_label: ClassVar[str] = N_("Extension")
    line_address_example: ClassVar[str] = "101"
    routes: ClassVar[str | None] = "offhook.drivers.threecx.web:router"
    settings_links: ClassVar[tuple[tuple[str, str], ...]] = (
        ("Download the 3CX CRM template", "/drivers/3cx/systems/{system_id}/crm-template.xml"),
    )

    Options = ThreeCxOptions

    def __init__(self, context: PhoneSystemContext) -> None:
        super().__init__(context)
        self.options = ThreeCxOptions.model_validate(dict(context.options))
        #: Reports already journaled ("call_ref|line_id"), and whether the call was answered.
        self._reported: OrderedDict[str, bool] = OrderedDict()
        self.participants = Participants(self._line_id, context.emit, _now)
        self._api: CallControl | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self.options.live:
            self.context.set_status(LineState.CONNECTED, N_("waiting for 3CX's CRM requests"))
            return
        secret = self.options.client_secret
        assert secret is not None
        self._api = CallControl(
            self.options.api_url,
            self.options.client_id,
            secret.get_secret_value(),
            self.options.verify_tls,
        )
        self.context.set_status(LineState.CONNECTING, f"Call Control API at {self._where()}")
        self._task = self.context.spawn(self._live(), "3cx call control")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._api is not None:
            await self._api.close()
        self.context.set_status(LineState.STOPPED)

    async def lines_changed(self) -> None:
        if self.options.live:  # the snapshot after a reconnect covers the new lines
            await self.stop()
            await self.start()

    def _where(self) -> str:
        return self.options.api_url

    def _line_id(self, dn: str) -> int | None:
        line = self.context.line_for(dn) if dn else None
        return line.id if line is not None else None

    # -- CRM integration --------------------------------------------------------------------------

    def token(self) -> str:
        return self.options.crm_token.get_secret_value()

    def journal(self, report: CallReport, now: datetime | None = None) -> dict[str, Any]:
        """Put a call 3CX reported into its agent's call history; what happened, for 3CX."""
        call = read(report, now or datetime.now(UTC), self.context.system_id)
        line = self.context.line_for(report.agent) if report.agent else None
        if line is None:
            return {"recorded": False, "why": "no line in offhook for this extension"}
        if self.options.live:
            # The live journal has it already, with the 3CX's own call id.
            return {"recorded": False, "why": "the live journal records this 3CX's calls"}
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

    # -- live: the Call Control API ---------------------------------------------------------------

    async def _live(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RETRY_FIRST
        while True:
            began = loop.time()
            try:
                await self._follow()
                reason = N_("the 3CX closed the event stream")
            except CallControlError as exc:
                reason = str(exc)
            if loop.time() - began > STABLE_SECONDS:
                delay = RETRY_FIRST
            self.context.set_status(LineState.RECONNECTING, f"{reason}; retrying in {delay:g} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _follow(self) -> None:
        """One connection: the event stream, the snapshot, then every event until it ends."""
        api = self._api
        assert api is not None
        async with api.stream() as stream:
            snapshot = await api.request("GET", "/callcontrol")
            live = self.participants.snapshot(snapshot if isinstance(snapshot, list) else [])
            self.context.set_status(LineState.CONNECTED, f"live through {self._where()}")
            self.context.reconcile(live)
            async for event in stream:
                found = entity(event.entity)
                if found is None:
                    continue
                dn, participant_id = found
                if self._line_id(dn) is None:
                    continue  # a DN that is nobody's line here
                if event.kind == "remove":
                    self.participants.remove(dn, participant_id)
                    continue
                try:
                    data = await api.request("GET", event.entity)
                except CallControlError as exc:
                    log.info("3cx: %s gone before it was read: %s", event.entity, exc)
                    continue
                if isinstance(data, dict):
                    self.participants.upset(dn, participant_id, data)

    def _live_api(self) -> CallControl:
        if self._api is None:
            raise NotSupported(
                "This 3CX is connected through its CRM integration only: placing and ending "
                "calls needs the Call Control API (an admin sets api_url, client_id and "
                "client_secret in Settings › Phone systems)."
            )
        return self._api

    async def dial(self, line_id: int, request: DialRequest) -> None:
        api = self._live_api()
        line = self.context.lines.get(line_id)
        if line is None:
            raise DriverError("That line is not on this 3CX.")
        self.participants.dials[line.address] = request.dial_ref
        try:
            await api.request(
                "POST",
                f"/callcontrol/{line.address}/makecall",
                {"destination": request.dial_string},
            )
        except CallControlError as exc:
            self.participants.dials.pop(line.address, None)
            raise DriverError(f"The 3CX could not place the call: {exc}.") from exc

    async def hangup(self, line_id: int, call_ref: str) -> None:
        api = self._live_api()
        line = self.context.lines.get(line_id)
        participant = self.participants.find(line.address, call_ref) if line else None
        if line is None or participant is None:
            raise DriverError("That call is no longer on your extension.")
        participant.dropped_by_us = True
        try:
            await api.request(
                "POST", f"/callcontrol/{line.address}/participants/{participant.id}/drop", {}
            )
        except CallControlError as exc:
            participant.dropped_by_us = False
            raise DriverError(f"The 3CX could not end the call: {exc}.") from exc


def _now() -> datetime:
    return datetime.now(UTC)
