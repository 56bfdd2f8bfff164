"""TAPI 2.x through ctypes: the few `tapi32.dll` functions a call monitor needs.

Messages arrive by `LINEINITIALIZEEXOPTION_USEEVENT`: a worker thread blocks in
`lineGetMessage` (no callbacks, no window). `lineShutdown` from another thread ends its wait.
The DLL is loaded from a path that may be given (`--dll`): the test suite loads a stand-in
built from the SDK header with mingw-w64 and runs the agent under Wine.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, byref, c_long, c_uint32, c_void_p, c_wchar_p
from dataclasses import dataclass
from typing import Any

from offhook_agent import constants as c
from offhook_agent.structs import (
    LINECALLINFO,
    LINECALLLIST,
    LINECALLSTATUS,
    LINEDEVCAPS,
    LINEEXTENSIONID,
    LINEINITIALIZEEXPARAMS,
    LINEMESSAGE,
    line_name,
)

#: The biggest variable structure the agent accepts from a driver.
MAX_STRUCT = 64 * 1024


class TapiError(Exception):
    """A TAPI function failed; `code` is its LINEERR_* value."""

    def __init__(self, function: str, code: int) -> None:
        self.function = function
        self.code = code & 0xFFFFFFFF
        super().__init__(f"{function}: {c.error_text(self.code)}")


@dataclass(frozen=True, slots=True)
class Device:
    """A TAPI line device as listed: its index now, its name and permanent ID."""

    index: int
    name: str
    permanent_id: int
    api_version: int


_SIGNATURES: dict[str, list[Any]] = {
    "lineInitializeExW": [
        POINTER(c_uint32), c_void_p, c_void_p, c_wchar_p, POINTER(c_uint32),
        POINTER(c_uint32), POINTER(LINEINITIALIZEEXPARAMS),
    ],
    "lineNegotiateAPIVersion": [
        c_uint32, c_uint32, c_uint32, c_uint32, POINTER(c_uint32), POINTER(LINEEXTENSIONID),
    ],
    "lineGetDevCapsW": [c_uint32, c_uint32, c_uint32, c_uint32, c_void_p],
    "lineOpenW": [
        c_uint32, c_uint32, POINTER(c_uint32), c_uint32, c_uint32, ctypes.c_size_t,
        c_uint32, c_uint32, c_void_p,
    ],
    "lineGetMessage": [c_uint32, POINTER(LINEMESSAGE), c_uint32],
    "lineGetCallInfoW": [c_uint32, c_void_p],
    "lineGetCallStatus": [c_uint32, c_void_p],
    "lineGetNewCalls": [c_uint32, c_uint32, c_uint32, c_void_p],
    "lineMakeCallW": [c_uint32, POINTER(c_uint32), c_wchar_p, c_uint32, c_void_p],
    "lineAnswer": [c_uint32, c_void_p, c_uint32],
    "lineDrop": [c_uint32, c_void_p, c_uint32],
    "lineSetCallPrivilege": [c_uint32, c_uint32],
    "lineDeallocateCall": [c_uint32],
    "lineClose": [c_uint32],
    "lineShutdown": [c_uint32],
}  # fmt: skip

LINECALLSELECT_LINE = 0x1


class Tapi:
    """One TAPI application instance (`lineInitializeExW` … `lineShutdown`)."""

    def __init__(self, dll: str = "tapi32", app_name: str = "offhook agent") -> None:
        loader = getattr(ctypes, "WinDLL", ctypes.CDLL)  # WinDLL: stdcall on 32-bit Windows
        self._dll = loader(dll)
        self._functions: dict[str, Any] = {}
        for name, argtypes in _SIGNATURES.items():
            function = getattr(self._dll, name)
            function.argtypes = argtypes
            function.restype = c_long
            self._functions[name] = function
        self.app = c_uint32(0)
        num_devs = c_uint32(0)
        version = c_uint32(c.TAPI_VERSION_3_1)
        params = LINEINITIALIZEEXPARAMS()
        params.dwTotalSize = ctypes.sizeof(params)
        params.dwOptions = c.LINEINITIALIZEEXOPTION_USEEVENT
        self._call(
            "lineInitializeExW",
            byref(self.app), None, None, app_name, byref(num_devs), byref(version), byref(params),
        )  # fmt: skip
        if not self.app.value or not params.hEvent:
            # Success that filled in nothing: a stub TAPI (Wine's own) or a broken install. Its
            # lineGetMessage would "succeed" forever with an empty message.
            raise TapiError("lineInitializeExW", c.LINEERR_NODRIVER)
        self.num_devices = num_devs.value

    def _call(self, name: str, *args: Any) -> int:
        """Call a function whose failure is an error; returns its (request ID) result."""
        rc = int(self._functions[name](*args))
        if rc < 0:
            raise TapiError(name, rc)
        return rc

    # -- devices ----------------------------------------------------------------------------

    def devices(self) -> list[Device]:
        found = []
        for index in range(self.num_devices):
            version = c_uint32(0)
            ext = LINEEXTENSIONID()
            rc = self._functions["lineNegotiateAPIVersion"](
                self.app, index, c.TAPI_VERSION_2_0, c.TAPI_VERSION_3_1, byref(version), byref(ext)
            )
            if rc < 0:
                continue  # a device of a TSP too old for USEEVENT: not ours
            blob = self._grow("lineGetDevCapsW", LINEDEVCAPS, self.app, index, version.value, 0)
            name, permanent = line_name(blob)
            found.append(Device(index, name or f"TAPI line {index}", permanent, version.value))
        return found

    def open(self, device: Device, instance: int) -> int:
        """Open a line to see its calls and place, answer and drop them; monitor only if the
        driver refuses ownership. Returns hLine."""
        line = c_uint32(0)
        try:
            self._call(
                "lineOpenW", self.app, device.index, byref(line), device.api_version, 0, instance,
                c.LINECALLPRIVILEGE_OWNER | c.LINECALLPRIVILEGE_MONITOR,
                c.LINEMEDIAMODE_INTERACTIVEVOICE, None,
            )  # fmt: skip
        except TapiError as exc:
            if exc.code not in (c.LINEERR_INVALPRIVSELECT, c.LINEERR_INVALMEDIAMODE):
                raise
            self._call(
                "lineOpenW", self.app, device.index, byref(line), device.api_version, 0, instance,
                c.LINECALLPRIVILEGE_MONITOR, 0, None,
            )  # fmt: skip
        return line.value

    # -- messages and calls -----------------------------------------------------------------

    def next_message(self, timeout_ms: int) -> LINEMESSAGE | None:
        """The next message, or None when none came within the timeout."""
        message = LINEMESSAGE()
        rc = int(self._functions["lineGetMessage"](self.app, byref(message), timeout_ms))
        if rc == 0:
            return message
        if rc & 0xFFFFFFFF == c.LINEERR_OPERATIONFAILED:
            return None
        raise TapiError("lineGetMessage", rc)

    def call_info(self, hcall: int) -> bytes:
        return self._grow("lineGetCallInfoW", LINECALLINFO, hcall)

    def call_state(self, hcall: int) -> tuple[int, int]:
        buffer = ctypes.create_string_buffer(1024)
        LINECALLSTATUS.from_buffer(buffer).dwTotalSize = len(buffer)
        self._call("lineGetCallStatus", hcall, buffer)
        status = LINECALLSTATUS.from_buffer_copy(buffer.raw[: ctypes.sizeof(LINECALLSTATUS)])
        return int(status.dwCallState), int(status.dwCallStateMode)

    def calls_of(self, hline: int) -> list[int]:
        """The calls that exist on the line now (when the agent opens it mid-call)."""
        blob = self._grow("lineGetNewCalls", LINECALLLIST, hline, 0, LINECALLSELECT_LINE)
        header = LINECALLLIST.from_buffer_copy(blob[: ctypes.sizeof(LINECALLLIST)])
        count, offset = int(header.dwCallsNumEntries), int(header.dwCallsOffset)
        if offset < ctypes.sizeof(LINECALLLIST) or offset + 4 * count > len(blob):
            return []
        return [
            int.from_bytes(blob[offset + 4 * i : offset + 4 * i + 4], "little")
            for i in range(count)
        ]

    def make_call(self, hline: int, destination: str) -> tuple[int, c_uint32]:
        """Returns the request ID and the hCall cell TAPI fills by the time of its LINE_REPLY
        (keep it alive until then)."""
        hcall = c_uint32(0)
        request = self._call("lineMakeCallW", hline, byref(hcall), destination, 0, None)
        return request, hcall

    def answer(self, hcall: int) -> int:
        # With only monitor privilege a call cannot be answered; ask for ownership first.
        self._functions["lineSetCallPrivilege"](hcall, c.LINECALLPRIVILEGE_OWNER)
        return self._call("lineAnswer", hcall, None, 0)

    def drop(self, hcall: int) -> int:
        self._functions["lineSetCallPrivilege"](hcall, c.LINECALLPRIVILEGE_OWNER)
        return self._call("lineDrop", hcall, None, 0)

    def deallocate(self, hcall: int) -> None:
        self._functions["lineDeallocateCall"](hcall)

    def close(self, hline: int) -> None:
        self._functions["lineClose"](hline)

    def shutdown(self) -> None:
        self._functions["lineShutdown"](self.app)

    # -- helpers ----------------------------------------------------------------------------

    def _grow(self, function: str, struct: type[ctypes.Structure], *args: Any) -> bytes:
        """Call a function that fills a variable-size structure, growing the buffer as the
        driver asks (`dwNeededSize`), up to `MAX_STRUCT`."""
        size = ctypes.sizeof(struct) + 1024
        while True:
            buffer = ctypes.create_string_buffer(size)
            ctypes.c_uint32.from_buffer(buffer).value = size  # dwTotalSize
            self._call(function, *args, buffer)
            needed = int.from_bytes(buffer.raw[4:8], "little")
            if needed <= size or size >= MAX_STRUCT:
                used = int.from_bytes(buffer.raw[8:12], "little")
                return buffer.raw[: min(max(used, ctypes.sizeof(struct)), size)]
            size = min(needed, MAX_STRUCT)
