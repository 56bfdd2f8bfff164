"""The TAPI lines of this PC as the uplink's `Phone`: a thread runs TAPI, the mapping turns
its messages into call events, and the uplink's event loop sends them.

It survives the Telephony service: a line closed under it (LINE_CLOSE) is opened again with
back-off, a REINIT or a failing `lineGetMessage` starts TAPI over, and a service that is not
there yet is waited for. After each (re)open the line's existing calls are read
(`lineGetNewCalls`) and a snapshot is sent, so nothing that happened meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from offhook_agent import constants as c
from offhook_agent.mapping import CallUpdate, LineCalls, TapiMessage
from offhook_agent.protocol import CommandRefused
from offhook_agent.recording import Recorder, Step
from offhook_agent.structs import parse_call_info
from offhook_agent.tapi import Device, Tapi, TapiError

log = logging.getLogger(__name__)

#: How long `lineGetMessage` blocks before the thread looks whether it should stop.
POLL_MS = 500
#: How long a dial, answer or hang-up waits for its LINE_REPLY.
REPLY_TIMEOUT = 12.0
RETRY_FIRST = 1.0
RETRY_MAX = 60.0


@dataclass
class _Line:
    device: Device
    hline: int = 0
    calls: LineCalls = field(default_factory=LineCalls)
    #: When to try opening it again after a LINE_CLOSE (monotonic); 0 = open.
    reopen_at: float = 0.0
    retry: float = RETRY_FIRST


@dataclass
class _Request:
    key: str
    future: Future[int]
    hcall: Any = None  # the c_uint32 that lineMakeCallW fills
    dial_ref: str = ""


class TapiLines:
    """The chosen TAPI lines (by name; all when none is named)."""

    def __init__(
        self,
        wanted: list[str],
        dll: str = "tapi32",
        recorder: Recorder | None = None,
    ) -> None:
        self.wanted = wanted
        self.dll = dll
        self.recorder = recorder
        self._tapi: Tapi | None = None
        self._lines: dict[str, _Line] = {}  # by key (the TAPI line name)
        self._by_hline: dict[int, str] = {}
        self._line_of_call: dict[int, str] = {}  # hCall → key
        self._requests: dict[int, _Request] = {}  # by TAPI request ID
        self._lock = threading.RLock()  # mapping state: TAPI thread and event loop
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Set by the uplink: where call events, line states and resyncs go (on its loop).
        self.report_call: Callable[[str, CallUpdate], None] = lambda key, update: None
        self.report_line: Callable[[str, str, str], None] = lambda key, state, reason: None
        self.resync: Callable[[str, list[CallUpdate] | None], None] = lambda key, calls: None
        self.ready = threading.Event()

    # -- life cycle -------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="tapi", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._tapi is not None:
                self._tapi.shutdown()  # ends a waiting lineGetMessage at once
        if self._thread is not None:
            self._thread.join(5)

    def _post(self, function: Callable[..., None], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(function, *args)

    # -- Phone ------------------------------------------------------------------------------

    def lines(self) -> list[dict[str, Any]]:
        with self._lock:
            keys = list(self._lines) or list(self.wanted)
        caps = {"dial": True, "answer": True, "hangup": True}
        return [{"key": key, "name": key, "caps": caps} for key in keys]

    def live_calls(self, key: str) -> list[CallUpdate] | None:
        with self._lock:
            line = self._lines.get(key)
            if line is None or not line.hline:
                return None
            return line.calls.live()

    async def dial(self, key: str, dial_ref: str, dial_string: str) -> None:
        def start(tapi: Tapi, line: _Line) -> _Request:
            request_id, hcall = tapi.make_call(line.hline, dial_string)
            request = _Request(key, Future(), hcall, dial_ref)
            self._requests[request_id] = request
            return request

        await self._request(key, start, "dial")

    async def answer(self, key: str, call_ref: str) -> None:
        await self._request(key, self._on_call(key, call_ref, "answer"), "answer")

    async def hangup(self, key: str, call_ref: str) -> None:
        await self._request(key, self._on_call(key, call_ref, "drop"), "hang up")

    def _on_call(self, key: str, call_ref: str, action: str) -> Callable[[Tapi, _Line], _Request]:
        def start(tapi: Tapi, line: _Line) -> _Request:
            hcall = line.calls.hcall_of(call_ref)
            if hcall is None:
                raise CommandRefused("the phone has no such call (any more)")
            request_id = tapi.answer(hcall) if action == "answer" else tapi.drop(hcall)
            request = _Request(key, Future())
            self._requests[request_id] = request
            return request

        return start

    async def _request(self, key: str, start: Callable[[Tapi, _Line], _Request], what: str) -> None:
        with self._lock:
            line = self._lines.get(key)
            if self._tapi is None or line is None or not line.hline:
                raise CommandRefused("the TAPI line is not open right now")
            try:
                request = start(self._tapi, line)
            except TapiError as exc:
                raise CommandRefused(f"the phone's TAPI driver refused to {what} ({exc})") from exc
        try:
            code = await asyncio.wait_for(asyncio.wrap_future(request.future), REPLY_TIMEOUT)
        except TimeoutError:
            raise CommandRefused(f"the phone's TAPI driver did not {what} in time") from None
        if code:
            raise CommandRefused(f"the phone's TAPI driver could not {what} ({c.error_text(code)})")

    # -- the TAPI thread --------------------------------------------------------------------

    def _run(self) -> None:
        retry = RETRY_FIRST
        while not self._stop.is_set():
            try:
                self._session()
                retry = RETRY_FIRST
            except (TapiError, OSError) as exc:
                log.warning("TAPI: %s; starting over in %.0f s", exc, retry)
                self._lost(f"TAPI is not available ({exc})")
                self._stop.wait(retry)
                retry = min(retry * 2, RETRY_MAX)

    def _session(self) -> None:
        """One TAPI instance: initialise, open the lines, pump messages until REINIT."""
        tapi = Tapi(self.dll)
        with self._lock:
            self._tapi = tapi
        try:
            devices = {d.name: d for d in tapi.devices()}
            chosen = (
                [devices[n] for n in self.wanted if n in devices]
                if self.wanted
                else list(devices.values())
            )
            for name in self.wanted:
                if name not in devices:
                    log.warning("TAPI has no line named %r; it has: %s", name, ", ".join(devices))
            with self._lock:
                for device in chosen:
                    self._lines.setdefault(device.name, _Line(device)).device = device
            for key in list(self._lines):
                self._open(tapi, key)
            self.ready.set()
            while not self._stop.is_set():
                self._reopen_due(tapi)
                message = tapi.next_message(POLL_MS)
                if message is None:
                    continue
                if not self._dispatch(tapi, message):
                    return  # REINIT: start over
        finally:
            with self._lock:
                self._tapi = None
                for line in self._lines.values():
                    line.hline = 0
                    line.calls.close()
                self._by_hline.clear()
                self._line_of_call.clear()
                for request in self._requests.values():
                    if not request.future.done():
                        request.future.set_result(c.LINEERR_REINIT)
                self._requests.clear()
            tapi.shutdown()

    def _open(self, tapi: Tapi, key: str) -> None:
        line = self._lines[key]
        try:
            hline = tapi.open(line.device, line.device.index)
        except TapiError as exc:
            line.reopen_at = time.monotonic() + line.retry
            line.retry = min(line.retry * 2, RETRY_MAX)
            self._post(self.report_line, key, "reconnecting", f"TAPI cannot open the line ({exc})")
            return
        with self._lock:
            line.hline, line.reopen_at, line.retry = hline, 0.0, RETRY_FIRST
            self._by_hline[hline] = key
            # Calls that exist already (the agent started, or the line reopened, mid-call).
            for hcall in self._existing_calls(tapi, hline):
                self._line_of_call[hcall] = key
                info_blob = self._info(tapi, hcall)
                try:
                    state, mode = tapi.call_state(hcall)
                except TapiError:
                    continue  # gone meanwhile
                for message in (
                    TapiMessage(c.LINE_APPNEWCALL, hline, 0, hcall, c.LINECALLPRIVILEGE_MONITOR),
                    TapiMessage(c.LINE_CALLSTATE, hcall, state, mode, 0),
                ):
                    self._feed(key, message, info_blob)
            # Taken now, not when the event loop gets to it: by then TAPI may be starting over.
            live = line.calls.live()
        self._post(self.report_line, key, "connected", "")
        self._post(self.resync, key, live)

    def _existing_calls(self, tapi: Tapi, hline: int) -> list[int]:
        try:
            return tapi.calls_of(hline)
        except TapiError:
            return []  # a driver without lineGetNewCalls: the snapshot will tell

    def _reopen_due(self, tapi: Tapi) -> None:
        now = time.monotonic()
        for key, line in list(self._lines.items()):
            if not line.hline and line.reopen_at and line.reopen_at <= now:
                self._open(tapi, key)

    def _lost(self, reason: str) -> None:
        for key in list(self._lines) or self.wanted:
            self._post(self.report_line, key, "reconnecting", reason)

    def _info(self, tapi: Tapi, hcall: int) -> bytes | None:
        try:
            return tapi.call_info(hcall)
        except TapiError:
            return None

    def _feed(self, key: str, message: TapiMessage, blob: bytes | None) -> None:
        info = parse_call_info(blob) if blob else None
        if self.recorder is not None:
            self.recorder.write(Step(key, message, info, blob))
        with self._lock:
            line = self._lines[key]
            updates = line.calls.feed(message, info)
        for update in updates:
            self._post(self.report_call, key, update)

    def _dispatch(self, tapi: Tapi, raw: Any) -> bool:
        """Handle one message; False when TAPI must start over."""
        message = TapiMessage(
            int(raw.dwMessageID),
            int(raw.hDevice),
            int(raw.dwParam1),
            int(raw.dwParam2),
            int(raw.dwParam3),
        )
        kind = message.message
        if kind == c.LINE_APPNEWCALL:
            key = self._by_hline.get(message.device)
            if key is not None:
                self._line_of_call[message.param2] = key
                self._feed(key, message, self._info(tapi, message.param2))
        elif kind in (c.LINE_CALLSTATE, c.LINE_CALLINFO):
            key = self._line_of_call.get(message.device)
            if key is None:
                return True  # a call of a line we do not watch
            self._feed(key, message, self._info(tapi, message.device))
            if kind == c.LINE_CALLSTATE and message.param1 == c.LINECALLSTATE_IDLE:
                # TAPI keeps an idle call's handle until it is given back.
                self._line_of_call.pop(message.device, None)
                tapi.deallocate(message.device)
        elif kind == c.LINE_REPLY:
            self._reply(message.param1, message.param2)
        elif kind == c.LINE_CLOSE:
            key = self._by_hline.pop(message.device, None)
            if key is not None:
                self._closed(key, "the Telephony service closed the line")
        elif kind == c.LINE_REMOVE:
            # A device went away (its vendor driver removed it): closed until it comes back.
            for key, line in list(self._lines.items()):
                if line.device.index == message.param1 and line.hline:
                    self._by_hline.pop(line.hline, None)
                    self._closed(key, "the line was removed from TAPI", reopen=False)
        elif kind == c.LINE_CREATE:
            # A device appeared: if one of ours is missing, start over to find it (device
            # indices may have moved).
            if any(not line.hline for line in self._lines.values()) or set(self.wanted) - set(
                self._lines
            ):
                log.info("TAPI has a new line device; starting over to open it")
                return False
        elif kind == c.LINE_LINEDEVSTATE and message.param1 & c.LINEDEVSTATE_REINIT:
            log.info("TAPI asks to start over (REINIT)")
            self._lost("the Telephony service is reinitialising")
            return False
        elif self.recorder is not None:
            self.recorder.write(Step("", message))
        return True

    def _closed(self, key: str, reason: str, reopen: bool = True) -> None:
        with self._lock:
            line = self._lines[key]
            line.hline = 0
            line.calls.close()
            for hcall in [h for h, k in self._line_of_call.items() if k == key]:
                del self._line_of_call[hcall]
            line.reopen_at = time.monotonic() + line.retry if reopen else 0.0
        self._post(self.report_line, key, "reconnecting", reason)

    def _reply(self, request_id: int, code: int) -> None:
        with self._lock:
            request = self._requests.pop(request_id, None)
            if request is None:
                return
            if request.dial_ref and code == 0 and request.hcall is not None:
                hcall = int(request.hcall.value)
                self._line_of_call[hcall] = request.key
                # Before any later message of the call: its events carry offhook's dial_ref.
                updates = self._lines[request.key].calls.dialled(hcall, request.dial_ref)
                for update in updates:
                    self._post(self.report_call, request.key, update)
        request.future.set_result(code & 0xFFFFFFFF)
