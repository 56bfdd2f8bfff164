"""Calls: the driver-neutral call event and the one state machine every driver feeds."""

# Imported for its effect: the sums of calls are kept at every flush of any session of the
# process, as soon as anything about calls is imported (see `offhook.calls.day_sums`).
from offhook.calls import day_sums  # noqa: F401
from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide

__all__ = ["CallEvent", "CallState", "Direction", "EndReason", "HangupSide"]
