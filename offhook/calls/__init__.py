"""Calls: the driver-neutral call event and the one state machine every driver feeds."""

from offhook.calls.events import CallEvent, CallState, Direction, EndReason, HangupSide

__all__ = ["CallEvent", "CallState", "Direction", "EndReason", "HangupSide"]
