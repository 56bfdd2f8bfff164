"""The driver contract: everything a driver may do and everything it is given.

A driver connects one kind of phone system to offhook (Settings > Interfaces > Extensions lists
the installed ones). It is found through the entry-point group `offhook.drivers`, so a third
party can ship one as a pip package:

    [project.entry-points."offhook.drivers"]
    mypbx = "mypbx_offhook:MyPbxDriver"

One driver instance serves one **phone system**: an Asterisk server, a cloud PBX account, a
softphone. An admin configures the phone system once (its `Options`: host, credentials, a
webhook secret) and gives each user a **line** on it that names only the user's extension,
device or number (`LineInfo.address`, plus the driver's `LineOptions`). The driver reports what
happens on its lines through its `PhoneSystemContext` and may offer to dial, answer and hang
up. Everything else (call state, caller lookup, journal, store, push) is the core's job.

A call that rings on several lines at once (a ring group, a queue) is reported on each line
with the same `call_ref`; when it connects on one line, the core ends it on the others as
answered elsewhere. A driver may also contribute HTTP routes (webhooks, an agent endpoint), CLI
commands and static files (see the class attributes and hooks of `Driver`).

`offhook/drivers/README.md` walks a driver author through a complete driver;
`offhook.drivers.testing` runs one in tests without a server.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Collection, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from offhook.calls.events import CallEvent


class LineState(StrEnum):
    STOPPED = "stopped"  # not started (driver not loaded, line or phone system switched off)
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # lost the phone system; retrying with backoff
    FAILED = "failed"  # gave up, or cannot work as configured; `reason` says why


class DriverError(Exception):
    """A driver could not do what was asked; the message is shown to the user as is."""


class NotSupported(DriverError):
    """The driver (or its phone system) cannot do this at all."""


@dataclass(frozen=True, slots=True)
class DialRequest:
    """Place a call. `dial_ref` must be set on the events of this call (see `CallEvent`)."""

    dial_ref: str
    number: str  # the number as the user sees it (E.164 where known)
    dial_string: str  # what to send to the phone system (outside-line prefix etc. applied)


@dataclass(frozen=True, slots=True)
class LineInfo:
    """One user's line on a phone system, as the admin configured it."""

    id: int
    #: The line's address on its phone system: an extension ("201"), a device, a number or a
    #: SIP URI, as the admin entered it.
    address: str
    user_id: int
    label: str = ""
    #: The line's options, validated by the driver's `LineOptions` model.
    options: Mapping[str, Any] = field(default_factory=dict)


class FarConnection(Protocol):
    """A connection to this phone system that is held by another server (several servers: the
    reverse proxy chose that one), passed on to the server that runs the phone system."""

    async def receive(self) -> dict[str, Any] | None:
        """The next message from the other side, in order; None once it is gone."""
        ...

    async def send(self, message: dict[str, Any]) -> None: ...

    async def close(self, code: int, reason: str) -> None:
        """End it; the other server closes its connection with `code` and `reason`."""
        ...


class PhoneSystemContext(Protocol):
    """What the core gives the driver of one phone system."""

    @property
    def system_id(self) -> int: ...

    @property
    def options(self) -> Mapping[str, Any]:
        """The phone system's options, already validated by the driver's `Options` model."""
        ...

    @property
    def lines(self) -> Mapping[int, LineInfo]:
        """The enabled lines on this phone system, by line id."""
        ...

    def line_for(self, address: str) -> LineInfo | None:
        """The line with this address (extension, device, number), if any."""
        ...

    def emit(self, event: CallEvent) -> None:
        """Report a call event on one of `lines` (`event.line_id`). Never blocks; call it from
        the event loop. A call ringing on several lines is one event per line, same `call_ref`."""
        ...

    def set_status(self, state: LineState, reason: str = "", line_id: int | None = None) -> None:
        """Report the connection state, shown to the users with the reason: of the whole phone
        system (every line) or, with `line_id`, of one line (e.g. its phone is unregistered)."""
        ...

    def reconcile(
        self,
        live_call_refs: Collection[str],
        at: datetime | None = None,
        reason: str = "",
        line_id: int | None = None,
    ) -> None:
        """Say which calls exist right now on the phone system (after a (re)connect).

        Every call the core still holds as ringing, dialling or connected on these lines (or on
        `line_id` only) that is not in `live_call_refs` has ended while nobody was listening,
        and is ended as of `at`. `reason` says why for the call history (e.g. "baresip
        stopped"), if the driver knows.
        """
        ...

    async def stored(self) -> bool:
        """Wait until every call event emitted so far is stored; False if some could not be
        (the database was away for too long).

        Events are recorded in batches after `emit` returns. A driver that confirms what it
        was told (a provider's push answered 2xx, an agent's `received`) awaits this first:
        a confirmed event then survives the server being killed right after.
        """
        ...

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run one of the driver's background tasks (its connection loop, a timer) under the
        core's supervision, and return it.

        If the task ends with an exception, the core logs it, shows every line of the phone
        system as failed with the reason, stops the driver and starts a new instance after a
        back-off (1 s, doubling up to a minute). A task that returns has simply finished; one
        cancelled by the driver's `stop` is fine. The core cancels whatever is still running
        after `stop`. A driver may create its own tasks instead, as before: then it alone must
        make sure none dies unnoticed.
        """
        ...


class Driver(ABC):
    """The connection to one phone system, serving its lines."""

    #: Name of the entry point; also stored on the phone system.
    name: ClassVar[str]
    #: What the admin sees in Settings > Interfaces > Extensions.
    title: ClassVar[str]
    description: ClassVar[str] = ""
    #: What the journal may offer for calls on this phone system's lines.
    can_dial: ClassVar[bool] = False
    can_answer: ClassVar[bool] = False
    can_hangup: ClassVar[bool] = False
    #: 1 for a phone system that is one line by nature (a softphone): the admin then sets up
    #: the line and its phone system in one go. None: any number of lines.
    max_lines: ClassVar[int | None] = None
    #: What a line's address is on this phone system, for the line form ("Extension",
    #: "SIP address", "Number" …) with an example.
    line_address_label: ClassVar[str] = "Extension"
    line_address_example: ClassVar[str] = "201"
    #: Files the web server serves at /drivers/<name>/static/ (scripts, styles, images).
    static_dir: ClassVar[Path | None] = None
    #: Scripts and style sheets in `static_dir` that every page loads while the driver is
    #: installed.
    page_scripts: ClassVar[tuple[str, ...]] = ()
    page_styles: ClassVar[tuple[str, ...]] = ()
    #: Every text the page scripts show, in English, marked with `N_` for offhook's catalogue:
    #: the page hands them over translated, and a script shows `offhookText(text)` (toast.js).
    page_texts: ClassVar[tuple[str, ...]] = ()
    #: HTTP routes (webhooks, an agent endpoint, an API of its own) as "module:attribute" of a
    #: FastAPI `APIRouter`, served while the driver is installed. Paths must start with
    #: /drivers/<name>/ or /api/drivers/<name>/. A route reaches the running app through
    #: `offhook.web.context.offhook_of(request)`; `offhook.web.security` has the logged-in user
    #: and CSRF protection as dependencies. Named rather than imported, so that loading a driver
    #: needs no web framework and its router module may import the driver freely.
    routes: ClassVar[str | None] = None
    #: Links the admin finds on the phone system's page in Settings › Phone systems, as
    #: (text, URL) with `{system_id}` standing for the phone system's id: a file to download
    #: for the PBX (a CRM template), a page of the driver's own (a webhook provider's set-up page
    #: with the address to paste and a test).
    settings_links: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: A command group for the `offhook` command, as "module:attribute" of a Typer app; its
    #: `name` (default: the driver's name) is the subcommand.
    commands: ClassVar[str | None] = None

    class Options(BaseModel):
        """The phone system's options; unknown keys are an error. Each field's title and
        description make up the form in Settings > Phone systems; a field whose
        `json_schema_extra` says `{"secret": True}` is never shown back or logged."""

        model_config = ConfigDict(extra="forbid")

    class LineOptions(BaseModel):
        """Each line's options besides its address; unknown keys are an error."""

        model_config = ConfigDict(extra="forbid")

    def __init__(self, context: PhoneSystemContext) -> None:
        self.context = context

    @abstractmethod
    async def start(self) -> None:
        """Connect to the phone system. Return promptly; keep reconnecting in the background."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect and release everything the driver started."""

    async def lines_changed(self) -> None:
        """`context.lines` changed (a line added, removed or edited). By default the driver
        is restarted; a driver that can take the change in its stride overrides this."""
        await self.stop()
        await self.start()

    async def dial(self, line_id: int, request: DialRequest) -> None:
        raise NotSupported(f"{self.title} cannot place calls")

    # With several servers, what the phone system sends may reach a server that does not run
    # it (the reverse proxy chose that one). That server passes it on to this driver's server
    # through Redis, and the answer goes back the same way: a driver that is reached from
    # outside (a provider's push, an agent connecting) overrides these.

    async def relayed(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A request of `kind` that reached another server: its answer for that server."""
        raise NotSupported(f"{self.title} takes no requests from other servers")

    async def tunnel(self, kind: str, opening: Mapping[str, Any], far: FarConnection) -> None:
        """A connection of `kind` held by another server: serve it until it ends."""
        await far.close(1011, f"{self.title} takes no connections through other servers")

    async def answer(self, line_id: int, call_ref: str) -> None:
        raise NotSupported(f"{self.title} cannot answer calls")

    async def hangup(self, line_id: int, call_ref: str) -> None:
        """Hang up or reject a call.

        Right after `dial`, until the driver's first event for the call is recorded, `call_ref`
        may still be the core's placeholder `dial:<dial_ref>`; the same holds for `answer`.
        """
        raise NotSupported(f"{self.title} cannot hang up calls")
