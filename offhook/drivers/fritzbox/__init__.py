"""The `fritzbox` driver: a FRITZ!Box's calls live, click to dial through its dialling aid.

Layers, one module each: `monitor` (the call monitor's lines), `phones` (which line a call
belongs to), `calls` (call-monitor events → call events), `dialling` (TR-064), `driver` (the
connection, reconnecting, options).
"""

from offhook.drivers.fritzbox.driver import FritzboxDriver

__all__ = ["FritzboxDriver"]
