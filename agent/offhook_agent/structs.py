"""The TAPI structures the agent uses, as ctypes structures, and the parsing of their
variable parts.

`tapi.h` packs every structure to one byte (`#pragma pack(1)`), so every structure here has
`_pack_ = 1`; all TAPI handles and DWORDs are 32-bit, DWORD_PTR is pointer-sized. The layouts
are compared with the header by the test suite (a C probe compiled with mingw-w64, run under
Wine). Parsing works on bytes and treats every size and offset as untrusted: a vendor's driver
fills these, and the caller chooses the text in them.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import c_size_t, c_uint32
from typing import Any

from offhook_agent.constants import STRINGFORMAT_UNICODE
from offhook_agent.mapping import CallInfo, PartyId

DWORD = c_uint32
DWORD_PTR = c_size_t


class LINEINITIALIZEEXPARAMS(ctypes.Structure):
    _pack_ = 1
    _fields_ = [
        ("dwTotalSize", DWORD),
        ("dwNeededSize", DWORD),
        ("dwUsedSize", DWORD),
        ("dwOptions", DWORD),
        ("hEvent", ctypes.c_void_p),  # union Handles { hEvent; hCompletionPort }
        ("dwCompletionKey", DWORD),
    ]


class LINEMESSAGE(ctypes.Structure):
    _pack_ = 1
    _fields_ = [
        ("hDevice", DWORD),
        ("dwMessageID", DWORD),
        ("dwCallbackInstance", DWORD_PTR),
        ("dwParam1", DWORD_PTR),
        ("dwParam2", DWORD_PTR),
        ("dwParam3", DWORD_PTR),
    ]


class LINEEXTENSIONID(ctypes.Structure):
    _pack_ = 1
    _fields_ = [(f"dwExtensionID{i}", DWORD) for i in range(4)]


class LINECALLLIST(ctypes.Structure):
    _pack_ = 1
    _fields_ = [
        ("dwTotalSize", DWORD),
        ("dwNeededSize", DWORD),
        ("dwUsedSize", DWORD),
        ("dwCallsNumEntries", DWORD),
        ("dwCallsSize", DWORD),
        ("dwCallsOffset", DWORD),
    ]


class LINECALLSTATUS(ctypes.Structure):
    _pack_ = 1
    _fields_ = [
        ("dwTotalSize", DWORD),
        ("dwNeededSize", DWORD),
        ("dwUsedSize", DWORD),
        ("dwCallState", DWORD),
        ("dwCallStateMode", DWORD),
        ("dwCallPrivilege", DWORD),
        ("dwCallFeatures", DWORD),
        ("dwDevSpecificSize", DWORD),
        ("dwDevSpecificOffset", DWORD),
        ("dwCallFeatures2", DWORD),
        ("tStateEntryTime", ctypes.c_uint16 * 8),  # SYSTEMTIME
    ]


Fields = list[tuple[str, Any]]


def _dwords(*names: str) -> Fields:
    return [(name, DWORD) for name in names]


def _party(prefix: str) -> Fields:
    return _dwords(
        f"dw{prefix}Flags",
        f"dw{prefix}Size",
        f"dw{prefix}Offset",
        f"dw{prefix}NameSize",
        f"dw{prefix}NameOffset",
    )


class LINECALLINFO(ctypes.Structure):
    """The fixed part at API 3.x (344 bytes); the strings follow it in the same buffer."""

    _pack_ = 1
    _fields_ = (
        _dwords(
            "dwTotalSize",
            "dwNeededSize",
            "dwUsedSize",
            "hLine",
            "dwLineDeviceID",
            "dwAddressID",
            "dwBearerMode",
            "dwRate",
            "dwMediaMode",
            "dwAppSpecific",
            "dwCallID",
            "dwRelatedCallID",
            "dwCallParamFlags",
            "dwCallStates",
            "dwMonitorDigitModes",
            "dwMonitorMediaModes",
        )
        + _dwords("dwDialPause", "dwDialSpeed", "dwDigitDuration", "dwWaitForDialtone")
        + _dwords(
            "dwOrigin",
            "dwReason",
            "dwCompletionID",
            "dwNumOwners",
            "dwNumMonitors",
            "dwCountryCode",
            "dwTrunk",
        )
        + _party("CallerID")
        + _party("CalledID")
        + _party("ConnectedID")
        + _party("RedirectionID")
        + _party("RedirectingID")
        + _dwords(
            "dwAppNameSize",
            "dwAppNameOffset",
            "dwDisplayableAddressSize",
            "dwDisplayableAddressOffset",
            "dwCalledPartySize",
            "dwCalledPartyOffset",
            "dwCommentSize",
            "dwCommentOffset",
            "dwDisplaySize",
            "dwDisplayOffset",
            "dwUserUserInfoSize",
            "dwUserUserInfoOffset",
            "dwHighLevelCompSize",
            "dwHighLevelCompOffset",
            "dwLowLevelCompSize",
            "dwLowLevelCompOffset",
            "dwChargingInfoSize",
            "dwChargingInfoOffset",
            "dwTerminalModesSize",
            "dwTerminalModesOffset",
            "dwDevSpecificSize",
            "dwDevSpecificOffset",
            "dwCallTreatment",
            "dwCallDataSize",
            "dwCallDataOffset",
            "dwSendingFlowspecSize",
            "dwSendingFlowspecOffset",
            "dwReceivingFlowspecSize",
            "dwReceivingFlowspecOffset",
            "dwCallerIDAddressType",
            "dwCalledIDAddressType",
            "dwConnectedIDAddressType",
            "dwRedirectionIDAddressType",
            "dwRedirectingIDAddressType",
        )
    )


class GUID(ctypes.Structure):
    _pack_ = 1
    _fields_ = [
        ("Data1", DWORD),
        ("Data2", ctypes.c_uint16),
        ("Data3", ctypes.c_uint16),
        ("Data4", ctypes.c_uint8 * 8),
    ]


def _arrays(*names: str) -> Fields:
    return [(name, DWORD * 4) for name in names]  # LINEDIALPARAMS: four DWORDs


def _guid(name: str) -> Fields:
    return [(name, GUID)]


class LINEDEVCAPS(ctypes.Structure):
    """The fixed part at API 3.x (292 bytes)."""

    _pack_ = 1
    _fields_ = (
        _dwords(
            "dwTotalSize",
            "dwNeededSize",
            "dwUsedSize",
            "dwProviderInfoSize",
            "dwProviderInfoOffset",
            "dwSwitchInfoSize",
            "dwSwitchInfoOffset",
            "dwPermanentLineID",
            "dwLineNameSize",
            "dwLineNameOffset",
            "dwStringFormat",
            "dwAddressModes",
            "dwNumAddresses",
            "dwBearerModes",
            "dwMaxRate",
            "dwMediaModes",
            "dwGenerateToneModes",
            "dwGenerateToneMaxNumFreq",
            "dwGenerateDigitModes",
            "dwMonitorToneMaxNumFreq",
            "dwMonitorToneMaxNumEntries",
            "dwMonitorDigitModes",
            "dwGatherDigitsMinTimeout",
            "dwGatherDigitsMaxTimeout",
            "dwMedCtlDigitMaxListSize",
            "dwMedCtlMediaMaxListSize",
            "dwMedCtlToneMaxListSize",
            "dwMedCtlCallStateMaxListSize",
            "dwDevCapFlags",
            "dwMaxNumActiveCalls",
            "dwAnswerMode",
            "dwRingModes",
            "dwLineStates",
            "dwUUIAcceptSize",
            "dwUUIAnswerSize",
            "dwUUIMakeCallSize",
            "dwUUIDropSize",
            "dwUUISendUserUserInfoSize",
            "dwUUICallInfoSize",
        )
        + _arrays("MinDialParams", "MaxDialParams", "DefaultDialParams")
        + _dwords(
            "dwNumTerminals",
            "dwTerminalCapsSize",
            "dwTerminalCapsOffset",
            "dwTerminalTextEntrySize",
            "dwTerminalTextSize",
            "dwTerminalTextOffset",
            "dwDevSpecificSize",
            "dwDevSpecificOffset",
            "dwLineFeatures",
            "dwSettableDevStatus",
            "dwDeviceClassesSize",
            "dwDeviceClassesOffset",
        )
        + _guid("PermanentLineGuid")
        + _dwords("dwAddressTypes")
        + _guid("ProtocolGuid")
        + _dwords("dwAvailableTracking")
    )


#: Every structure the binding uses, by its name in `tapi.h` (the layout probe prints these).
STRUCTURES: dict[str, type[ctypes.Structure]] = {
    "LINEINITIALIZEEXPARAMS": LINEINITIALIZEEXPARAMS,
    "LINEMESSAGE": LINEMESSAGE,
    "LINEEXTENSIONID": LINEEXTENSIONID,
    "LINECALLLIST": LINECALLLIST,
    "LINECALLSTATUS": LINECALLSTATUS,
    "LINECALLINFO": LINECALLINFO,
    "LINEDEVCAPS": LINEDEVCAPS,
}

_CALLINFO_FIXED = ctypes.sizeof(LINECALLINFO)
#: The fixed part before the API 2.0 additions: enough for everything the agent reads.
_CALLINFO_MIN = LINECALLINFO.dwAppNameSize.offset


def wide_string(blob: bytes, size: int, offset: int, used: int) -> str:
    """A UTF-16LE string of a TAPI structure (`size` in bytes, counted from the start),
    or "" when it is absent or lies outside the part of the buffer TAPI filled."""
    if size <= 0 or offset <= 0 or offset + size > min(used, len(blob)):
        return ""
    text = blob[offset : offset + size].decode("utf-16-le", "replace")
    return text.split("\0", 1)[0]


def parse_call_info(blob: bytes) -> CallInfo | None:
    """The parts of a LINECALLINFO the agent uses; None if the buffer is too short to be one."""
    if len(blob) < _CALLINFO_MIN:
        return None
    fixed = blob[:_CALLINFO_FIXED].ljust(_CALLINFO_FIXED, b"\0")
    info = LINECALLINFO.from_buffer_copy(fixed)
    used = min(info.dwUsedSize or len(blob), len(blob))

    def party(prefix: str) -> PartyId:
        def get(field: str) -> int:
            return int(getattr(info, f"dw{prefix}{field}"))

        return PartyId(
            number=wide_string(blob, get("Size"), get("Offset"), used),
            name=wide_string(blob, get("NameSize"), get("NameOffset"), used),
            flags=get("Flags"),
        )

    return CallInfo(
        call_id=int(info.dwCallID),
        origin=int(info.dwOrigin),
        reason=int(info.dwReason),
        caller=party("CallerID"),
        called=party("CalledID"),
        connected=party("ConnectedID"),
    )


def build_call_info(
    call_id: int,
    origin: int,
    caller: PartyId = PartyId(),  # noqa: B008 - frozen
    called: PartyId = PartyId(),  # noqa: B008
    connected: PartyId = PartyId(),  # noqa: B008
) -> bytes:
    """A LINECALLINFO as a TSP fills it (for tests and the replay of decoded recordings)."""
    info = LINECALLINFO()
    strings = b""

    def put(text: str) -> tuple[int, int]:
        nonlocal strings
        if not text:
            return 0, 0
        data = (text + "\0").encode("utf-16-le")
        offset = _CALLINFO_FIXED + len(strings)
        strings += data
        return len(data), offset

    for prefix, value in (("CallerID", caller), ("CalledID", called), ("ConnectedID", connected)):
        size, offset = put(value.number)
        name_size, name_offset = put(value.name)
        setattr(info, f"dw{prefix}Flags", value.flags)
        setattr(info, f"dw{prefix}Size", size)
        setattr(info, f"dw{prefix}Offset", offset)
        setattr(info, f"dw{prefix}NameSize", name_size)
        setattr(info, f"dw{prefix}NameOffset", name_offset)
    info.dwCallID = call_id
    info.dwOrigin = origin
    total = _CALLINFO_FIXED + len(strings)
    info.dwTotalSize = info.dwNeededSize = info.dwUsedSize = total
    return bytes(info) + strings


def line_name(blob: bytes) -> tuple[str, int]:
    """The name and permanent line ID of a LINEDEVCAPS."""
    if len(blob) < ctypes.sizeof(LINEDEVCAPS):
        return "", 0
    caps = LINEDEVCAPS.from_buffer_copy(blob[: ctypes.sizeof(LINEDEVCAPS)])
    used = min(caps.dwUsedSize or len(blob), len(blob))
    if caps.dwStringFormat == STRINGFORMAT_UNICODE:
        name = wide_string(blob, caps.dwLineNameSize, caps.dwLineNameOffset, used)
    else:  # an old TSP answering in ANSI despite the W function
        start, size = caps.dwLineNameOffset, caps.dwLineNameSize
        raw = blob[start : start + size] if start > 0 and start + size <= used else b""
        name = raw.split(b"\0", 1)[0].decode("mbcs" if sys.platform == "win32" else "latin-1")
    return name, int(caps.dwPermanentLineID)
