"""The `fritzbox` driver: a FRITZ!Box and the phones on it, one line per user.

It listens to the box's call monitor (TCP 1012, `monitor`), turns what it says into call events
on the users' lines (`phones` says which, `calls` how), reconnects with back-off when the
connection drops, and dials through the box's dialling aid over TR-064 (`dialling`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import ConfigDict, Field, SecretStr, field_validator

from offhook.drivers.contract import (
    DialRequest,
    Driver,
    DriverError,
    LineState,
    NotSupported,
    PhoneSystemContext,
)
from offhook.drivers.fritzbox.calls import CallTracker
from offhook.drivers.fritzbox.dialling import DiallingAid, Tr064Access
from offhook.drivers.fritzbox.monitor import LineFramer, parse
from offhook.drivers.fritzbox.phones import Routes
from offhook.settings.language import N_

log = logging.getLogger(__name__)

#: Back-off between reconnects: from the first to the longest wait, doubling.
RETRY_FIRST = 1.0
RETRY_MAX = 30.0
#: A connection that lasted this long was a working one: the back-off starts over after it.
STABLE_SECONDS = 30.0
#: The call monitor says nothing while nobody phones; TCP keep-alive finds a dead connection
#: (a box that rebooted, a cable pulled) after this many idle seconds, plus a few probes.
KEEPALIVE_IDLE = 60


class FritzboxOptions(Driver.Options):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    host: str = Field(
        "fritz.box",
        title=N_("Host"),
        max_length=253,
        description=N_("The FRITZ!Box's address in your network, e.g. 192.168.178.1"),
    )
    monitor_port: int = Field(
        1012,
        title=N_("Monitor port"),
        ge=1,
        le=65535,
        description=N_(
            "The call monitor's port; turn the monitor on by dialling #96*5* on a phone of the box"
        ),
    )
    user: str = Field(
        "",
        title=N_("User"),
        max_length=100,
        description=N_(
            "For click to dial: a FRITZ!Box user with the right 'FRITZ!Box "
            "Einstellungen' (System › FRITZ!Box-Benutzer)"
        ),
    )
    password: SecretStr | None = Field(
        None,
        title=N_("Password"),
        description=N_("That user's password"),
        json_schema_extra={"secret": True},
    )
    tr064_port: int = Field(
        49000,
        title=N_("TR-064 port"),
        ge=1,
        le=65535,
        description=N_("The box's TR-064 port (49443 with TLS)"),
    )
    tr064_tls: bool = Field(
        False, title=N_("TR-064 TLS"), description=N_("Speak TR-064 over TLS (port 49443)")
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() or c in "/@?#" for c in value):
            raise ValueError("give the box's host name or IP address only, e.g. 192.168.178.1")
        return value


class FritzboxLineOptions(Driver.LineOptions):
    numbers: list[str] = Field(
        title=N_("Numbers"),
        default_factory=list,
        max_length=20,
        description=N_(
            "A phone's line: the box's own numbers whose incoming calls ring on it, "
            "one a line (none: all)"
        ),
    )
    phone_name: str = Field(
        "",
        title=N_("Phone name"),
        max_length=100,
        description=N_(
            "A phone's line, for click to dial: the phone's name as Telefonie › "
            "Anrufe › Wählhilfe lists it, e.g. 'DECT: Mobilteil 1'"
        ),
    )
    monitor_id: str = Field(
        "",
        title=N_("Monitor ID"),
        max_length=4,
        pattern=r"^\d{0,4}$",
        description=N_("Only if your box numbers this phone otherwise in the call monitor"),
    )


class FritzboxDriver(Driver):
    name: ClassVar[str] = "fritzbox"
    title: ClassVar[str] = "FRITZ!Box"
    description: ClassVar[str] = N_(
        "Calls of a FRITZ!Box live through its call monitor; click to dial through its "
        "dialling aid."
    )
    can_dial: ClassVar[bool] = True
    can_hangup: ClassVar[bool] = True
    line_address_label: ClassVar[str] = N_("Phone (**610) or own number")
    line_address_example: ClassVar[str] = "**610"

    Options = FritzboxOptions
    LineOptions = FritzboxLineOptions

    def __init__(self, context: PhoneSystemContext) -> None:
        super().__init__(context)
        self.options = FritzboxOptions.model_validate(dict(context.options))
        self.tracker = CallTracker(Routes(context.lines), context.emit, _now)
        self._task: asyncio.Task[None] | None = None
        self._aid: DiallingAid | None = None
        self._dialling: dict[int, str] = {}  # line → dial_ref of a dial the aid has not placed

    async def start(self) -> None:
        self.context.set_status(LineState.CONNECTING, f"call monitor at {self._where()}")
        self._task = self.context.spawn(self._run(), "fritzbox call monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.context.set_status(LineState.STOPPED)

    async def lines_changed(self) -> None:
        # The calls in progress keep their lines; new events follow the new routes.
        self.tracker.routes = Routes(self.context.lines)

    def _where(self) -> str:
        return f"{self.options.host}:{self.options.monitor_port}"

    # -- the call monitor -----------------------------------------------------------------------

    async def _run(self) -> None:
        delay = RETRY_FIRST
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            reason = await self._listen()
            if reason is None:
                reason = N_("the FRITZ!Box closed the call monitor connection")
                if loop.time() - began > STABLE_SECONDS:
                    delay = RETRY_FIRST
            self.context.set_status(LineState.RECONNECTING, f"{reason}; retrying in {delay:g} s")
            # Whatever was open is unknown now; the core ends it as of the loss (it knows when).
            if self.tracker.calls:
                self.tracker.calls.clear()
                self.context.reconcile([], reason=reason)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _listen(self) -> str | None:
        """One connection to the call monitor, until it ends; why it could not be made, or None
        when it was made and later closed."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.options.host, self.options.monitor_port), 10
            )
        except ConnectionRefusedError:
            return (
                f"the FRITZ!Box at {self._where()} refuses the call monitor connection: turn "
                "the call monitor on by dialling #96*5* on a phone of the box"
            )
        except (OSError, TimeoutError) as exc:
            return f"cannot reach the FRITZ!Box at {self._where()} ({exc.__class__.__name__})"
        _keepalive(writer)
        self.context.set_status(LineState.CONNECTED, f"call monitor at {self._where()}")
        # The call monitor names no call that began before: none of ours is still known to
        # exist (see README, "Reconnecting").
        self.context.reconcile(self.tracker.open_refs())
        framer = LineFramer()
        try:
            while chunk := await reader.read(4096):
                for text in framer.feed(chunk):
                    event = parse(text)
                    if event is not None:
                        self.tracker.on(event)
        except OSError as exc:
            log.info("fritzbox %s: call monitor connection lost: %s", self._where(), exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return None

    # -- dialling -------------------------------------------------------------------------------

    def _dialling_aid(self) -> DiallingAid:
        if not self.options.user or self.options.password is None:
            raise DriverError(
                "Click to dial needs a FRITZ!Box user and password: an admin sets them in "
                "Settings › Phone systems."
            )
        if self._aid is None:
            self._aid = DiallingAid(
                Tr064Access(
                    host=self.options.host,
                    port=self.options.tr064_port,
                    user=self.options.user,
                    password=self.options.password.get_secret_value(),
                    use_tls=self.options.tr064_tls,
                    timeout=10.0,
                )
            )
        return self._aid

    async def dial(self, line_id: int, request: DialRequest) -> None:
        line = self.context.lines.get(line_id)
        if line is None:
            raise DriverError("That line is not on this FRITZ!Box.")
        phone_name = str(line.options.get("phone_name") or "")
        if not phone_name:
            raise DriverError(
                "This line has no phone name for the dialling aid: an admin sets it in "
                "Settings › Lines (the name as Telefonie › Anrufe › Wählhilfe lists it)."
            )
        aid = self._dialling_aid()
        self.tracker.expect_dial(request.dial_ref, line_id, request.dial_string)
        await asyncio.to_thread(aid.dial, phone_name, request.dial_string)
        self._dialling[line_id] = request.dial_ref

    async def hangup(self, line_id: int, call_ref: str) -> None:
        # The aid can only give up its own dial, before the call is connected.
        dial_ref = self._dialling.get(line_id)
        open_dial = any(
            call.dial_ref == dial_ref and call.connected_at is None
            for call in self.tracker.calls.values()
        )
        placeholder = call_ref == f"dial:{dial_ref}"
        if dial_ref is None or not (open_dial or placeholder):
            raise NotSupported(
                "A FRITZ!Box can only give up a call it is still dialling for you; hang up "
                "on the phone."
            )
        await asyncio.to_thread(self._dialling_aid().hangup)
        self._dialling.pop(line_id, None)


def _now() -> datetime:
    return datetime.now(UTC)


def _keepalive(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
