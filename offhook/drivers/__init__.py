"""Line drivers: extensions that connect lines to phone systems (see `contract`)."""

from offhook.drivers.contract import (
    DialRequest,
    DriverError,
    LineContext,
    LineDriver,
    LineState,
    NotSupported,
)

__all__ = [
    "DialRequest",
    "DriverError",
    "LineContext",
    "LineDriver",
    "LineState",
    "NotSupported",
]
