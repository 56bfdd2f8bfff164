"""Drivers: plugins that connect phone systems to offhook.

The contract (`offhook.drivers.contract`, re-exported here) is all a driver author needs;
`offhook.drivers.testing` runs a driver in tests without a server; `registry` finds the
installed ones. Each driver shipped with offhook is a package of its own here (`simulator`,
`sip`); nothing else in offhook imports them.
"""

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide
from offhook.drivers.contract import (
    DialRequest,
    Driver,
    DriverError,
    LineInfo,
    LineState,
    NotSupported,
    PhoneSystemContext,
)

__all__ = [
    "CallEvent",
    "CallState",
    "DialRequest",
    "Direction",
    "Driver",
    "DriverError",
    "EndReason",
    "HangupSide",
    "LineInfo",
    "LineState",
    "NotSupported",
    "PhoneSystemContext",
]
