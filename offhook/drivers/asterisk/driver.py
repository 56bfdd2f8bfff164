"""The `asterisk` driver: one AMI connection serves every line of an Asterisk or FreePBX.

The connection loop (`_run`) logs in, lists the channels that exist (CoreShowChannels) to
reconcile what happened while nobody listened, and then feeds every event to the pure
`CallMapper`, whose call events go straight to the core: nothing in the event path awaits, so
a storm of events from a busy PBX cannot stall the loop. A lost connection is retried with
back-off (1 s doubling to 30 s); a refused login is shown with Asterisk's reason and retried
rarely (the admin must fix the secret or manager.conf).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.drivers.asterisk.connection import AmiClient, AmiError, LoginRefused, NotPermitted
from offhook.drivers.asterisk.mapping import EVENTS, CallMapper, Leg, endpoint_of
from offhook.drivers.asterisk.options import AsteriskLineOptions, AsteriskOptions
from offhook.drivers.contract import (
    DialRequest,
    Driver,
    DriverError,
    LineState,
    NotSupported,
    PhoneSystemContext,
)
from offhook.settings.language import N_

log = logging.getLogger(__name__)

#: What a number sent to Originate may contain.
_DIALLABLE = re.compile(r"^[0-9A-Za-z+*#._@-]{1,64}$")
RETRY_MAX = 30.0
#: A refused login is retried this rarely: the configuration must change first.
LOGIN_RETRY = 60.0


class AsteriskDriver(Driver):
    """Asterisk, FreePBX and their kin through the Asterisk Manager Interface (AMI)."""

    name: ClassVar[str] = "asterisk"
    title: ClassVar[str] = N_("Asterisk / FreePBX (AMI)")
    description: ClassVar[str] = N_(
        "Every extension of an Asterisk or FreePBX through one manager (AMI) connection: "
        "incoming, outgoing, ring group, queue and transferred calls, click to dial."
    )
    can_dial: ClassVar[bool] = True
    can_answer: ClassVar[bool] = False
    can_hangup: ClassVar[bool] = True
    line_address_label: ClassVar[str] = N_("Extension or endpoint")
    line_address_example: ClassVar[str] = "PJSIP/201"
    routes: ClassVar[str | None] = "offhook.drivers.asterisk.web:router"

    # The user and secret are required, so the constructor differs from the base model's.
    Options = AsteriskOptions  # type: ignore[assignment]
    LineOptions = AsteriskLineOptions

    def __init__(self, context: PhoneSystemContext) -> None:
        super().__init__(context)
        self.mapper = CallMapper(self._line_of)
        self._client: AmiClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._index: dict[str, int] = {}
        self._by_resource: dict[str, int] = {}
        self._endpoints: dict[int, str] = {}
        self._lost_at: datetime | None = None
        #: Click-to-dial Originates not yet answered by an OriginateResponse, by ActionID.
        self._originates: dict[str, tuple[int, str, str, str]] = {}
        self._index_lines()

    # --- lines -----------------------------------------------------------------------------------

    def _index_lines(self) -> None:
        self._index.clear()
        self._by_resource.clear()
        self._endpoints.clear()
        for line in self.context.lines.values():
            endpoint = (line.options or {}).get("endpoint") or line.address.strip()
            if "/" in endpoint:
                self._index[endpoint.lower()] = line.id
                self._endpoints[line.id] = endpoint
            else:
                self._by_resource[endpoint.lower()] = line.id
                self._endpoints[line.id] = f"PJSIP/{endpoint}"

    def _line_of(self, endpoint: str) -> int | None:
        key = endpoint.lower()
        if key.startswith("local/"):
            return None
        found = self._index.get(key)
        if found is None and "/" in key:
            found = self._by_resource.get(key.split("/", 1)[1])
        return found

    async def lines_changed(self) -> None:
        # The connection serves every line: only the index changes.
        self._index_lines()

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = self.context.spawn(self._run(), "asterisk AMI connection")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            self._client.close()

    def _options(self) -> AsteriskOptions:
        return AsteriskOptions.model_validate(dict(self.context.options))

    def _where(self, options: AsteriskOptions) -> str:
        return f"{options.host}:{options.port}"

    async def _run(self) -> None:
        options = self._options()
        delay = 1.0
        self.context.set_status(LineState.CONNECTING)
        while True:
            try:
                await self._session(options)
                delay = 1.0
                reason = self._client.reason if self._client else N_("connection closed")
                self.context.set_status(LineState.RECONNECTING, f"Asterisk: {reason}")
            except LoginRefused as exc:
                self.context.set_status(LineState.FAILED, str(exc))
                delay = LOGIN_RETRY
            except AmiError as exc:
                self.context.set_status(LineState.RECONNECTING, str(exc))
            if self._lost_at is None:
                # The last moment calls were watched: what ends unseen ends no later.
                self._lost_at = datetime.now(UTC)
            await asyncio.sleep(delay)
            if delay < LOGIN_RETRY:
                delay = min(delay * 2, RETRY_MAX)

    async def _session(self, options: AsteriskOptions) -> None:
        client = AmiClient(self._on_event, EVENTS)
        self._client = client
        tls = None
        if options.tls:
            tls = ssl.create_default_context()
            if not options.tls_verify:
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE
        try:
            await client.connect(options.host, options.port, tls)
            await client.login(options.username, options.secret.get_secret_value())
            await self._reconcile(client)
            self.context.set_status(LineState.CONNECTED)
            await client.closed.wait()
        finally:
            client.close()

    async def _reconcile(self, client: AmiClient) -> None:
        """Which channels exist now: calls that ended while we were away end, live ones stay."""
        at = datetime.now(UTC)
        known = set(self.mapper.channels)
        reply = await client.action({"Action": "CoreShowChannels"}, as_list=True)
        messages = reply if isinstance(reply, list) else [reply]
        if messages and messages[0].get("Response") == "Error":
            raise NotPermitted(
                "Asterisk refused to list its channels (CoreShowChannels: "
                f"{messages[0].get('Message') or 'refused'}): the AMI user needs "
                "write = reporting in manager.conf"
            )
        listing = [m for m in messages if m.get("Event") == "CoreShowChannel"]
        events, live = self.mapper.reconcile(listing, at, known)
        for event in events:
            self.context.emit(event)
        self.context.reconcile(
            live, at=self._lost_at or at, reason="ended while Asterisk was not connected"
        )
        self._lost_at = None

    def _on_event(self, message: Mapping[str, Any]) -> None:
        at = datetime.now(UTC)
        if message.get("Event") == "OriginateResponse":
            self._originated(message, at)
            return
        for event in self.mapper.handle(message, at):
            self.context.emit(event)

    def _originated(self, message: Mapping[str, Any], at: datetime) -> None:
        """Asterisk's verdict on a click to dial: a failure ends the dialling call."""
        pending = self._originates.pop(str(message.get("ActionID", "")), None)
        if pending is None or message.get("Response") == "Success":
            return
        line_id, channel_id, dial_ref, number = pending
        self.mapper.pending_dials.pop(channel_id, None)
        if any(
            c.leg is not None for c in self.mapper.channels.values() if c.uniqueid == channel_id
        ):
            return  # it rang: its own hang-up ends it
        self.context.emit(
            CallEvent(
                line_id=line_id,
                call_ref=channel_id,
                direction=Direction.OUTGOING,
                state=CallState.ENDED,
                at=at,
                remote_number=number,
                end_reason=EndReason.FAILED,
                dial_ref=dial_ref,
            )
        )

    # --- actions ---------------------------------------------------------------------------------

    def _connected(self) -> AmiClient:
        client = self._client
        if client is None or client.closed.is_set():
            raise DriverError("Asterisk is not connected right now")
        return client

    async def dial(self, line_id: int, request: DialRequest) -> None:
        client = self._connected()
        endpoint = self._endpoints.get(line_id)
        if endpoint is None:
            raise DriverError("this line is not on this phone system")
        number = request.dial_string.strip()
        if not _DIALLABLE.match(number):
            raise DriverError("this number cannot be dialled through Asterisk")
        channel_id = f"offhook-{uuid.uuid4().hex}"
        action_id = f"offhook-originate-{channel_id}"
        self.mapper.pending_dials[channel_id] = (request.dial_ref, number)
        self._originates[action_id] = (line_id, channel_id, request.dial_ref, number)
        reply = await client.action(
            {
                "Action": "Originate",
                "ActionID": action_id,
                "Channel": endpoint,
                "Context": self._options().originate_context,
                "Exten": number,
                "Priority": "1",
                "CallerID": f"{number} <{number}>",
                "ChannelId": channel_id,
                "Timeout": "30000",
                "Async": "true",
            }
        )
        if not reply.success:
            self.mapper.pending_dials.pop(channel_id, None)
            self._originates.pop(action_id, None)
            raise DriverError(f"Asterisk refused to place the call: {reply.get('Message', '')}")

    async def answer(self, line_id: int, call_ref: str) -> None:
        raise NotSupported("Asterisk cannot answer a phone through AMI: pick up the phone itself")

    async def hangup(self, line_id: int, call_ref: str) -> None:
        client = self._connected()
        found = self._channel_for(line_id, call_ref)
        if found is None:
            raise DriverError("Asterisk has no such call on this line any more")
        channel, leg = found
        # A ringing call hung up from the journal is rejected (Q.850 21: the phone stops
        # ringing, a ring group goes on with the others, the journal says rejected); any other
        # ends normally (16).
        rejected = (
            leg is not None
            and leg.state is CallState.RINGING
            and leg.direction is Direction.INCOMING
        )
        cause = "21" if rejected else "16"
        reply = await client.action({"Action": "Hangup", "Channel": channel, "Cause": cause})
        if not reply.success:
            raise DriverError(f"Asterisk refused to hang up: {reply.get('Message', '')}")

    def _channel_for(self, line_id: int, call_ref: str) -> tuple[str, Leg | None] | None:
        """The channel of the line's part in the call, and that part as the mapper has it."""
        if call_ref.startswith("dial:"):
            dial_ref = call_ref[len("dial:") :]
            for uid, (ref, _) in self.mapper.pending_dials.items():
                if ref == dial_ref:
                    return uid, None
        for chan in self.mapper.channels.values():
            leg = chan.leg
            if leg is None or leg.line_id != line_id or leg.state is CallState.ENDED:
                continue
            if leg.ref == call_ref or (leg.dial_ref and call_ref == f"dial:{leg.dial_ref}"):
                return chan.name, leg
        return None


__all__ = ["AsteriskDriver", "endpoint_of"]
