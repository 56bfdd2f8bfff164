"""The line driver contract: everything a driver may do and everything it is given.

A driver is an extension (see Settings > Interfaces > Extensions) that connects the lines of one
kind of phone system to offhook. It is found through the entry-point group `offhook.drivers`, so
a third party can ship one as a pip package:

    [project.entry-points."offhook.drivers"]
    mypbx = "mypbx_offhook:MyPbxDriver"

One driver instance serves one line. It reports what happens through its `LineContext` and may
offer to dial, answer and hang up. Everything else (call state, lookup, journal, store) is the
core's job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from offhook.calls.events import CallEvent


class LineState(StrEnum):
    STOPPED = "stopped"  # not started (driver not loaded, line disabled)
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


class LineContext(Protocol):
    """What the core gives a driver for one line."""

    @property
    def line_id(self) -> int: ...

    @property
    def line_address(self) -> str:
        """The line's address as the admin entered it (SIP URI, extension, MSN …)."""
        ...

    @property
    def options(self) -> Mapping[str, Any]:
        """The line's options, already validated by the driver's `Options` model."""
        ...

    def emit(self, event: CallEvent) -> None:
        """Report a call event. Never blocks; call it from the event loop."""
        ...

    def set_status(self, state: LineState, reason: str = "") -> None:
        """Report the line's connection state; shown to the user with the reason."""
        ...

    def reconcile(
        self, live_call_refs: Collection[str], at: datetime | None = None, reason: str = ""
    ) -> None:
        """Say which calls exist right now on the phone system (after a (re)connect).

        Every call the core still holds as ringing, dialling or connected on this line that is
        not in `live_call_refs` has ended while nobody was listening, and is ended as of `at`.
        `reason` says why for the call history (e.g. "baresip stopped"), if the driver knows.
        """
        ...


class LineDriver(ABC):
    """One line's connection to a phone system."""

    #: Name of the entry point; also stored on the line.
    name: ClassVar[str]
    #: What the user sees in Settings > Interfaces > Extensions.
    title: ClassVar[str]
    description: ClassVar[str] = ""
    #: What the journal may offer for calls on this line.
    can_dial: ClassVar[bool] = False
    can_answer: ClassVar[bool] = False
    can_hangup: ClassVar[bool] = False

    class Options(BaseModel):
        """The line options this driver understands; unknown keys are an error."""

        model_config = ConfigDict(extra="forbid")

    def __init__(self, context: LineContext) -> None:
        self.context = context

    @abstractmethod
    async def start(self) -> None:
        """Connect to the phone system. Return promptly; keep reconnecting in the background."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect and release everything the driver started."""

    async def dial(self, request: DialRequest) -> None:
        raise NotSupported(f"{self.title} cannot place calls")

    async def answer(self, call_ref: str) -> None:
        raise NotSupported(f"{self.title} cannot answer calls")

    async def hangup(self, call_ref: str) -> None:
        """Hang up or reject a call.

        Right after `dial`, until the driver's first event for the call is recorded, `call_ref`
        may still be the core's placeholder `dial:<dial_ref>`; the same holds for `answer`.
        """
        raise NotSupported(f"{self.title} cannot hang up calls")
