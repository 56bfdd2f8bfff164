"""The `sip` line driver: a baresip SIP softphone as a line (see `driver`).

Layers, one module each: `netstring` (framing), `ctrl` (the ctrl_tcp protocol), `mapping`
(baresip events → call events), `process` (running baresip for a line), `uris` (SIP addresses),
`options` (what a line's options may say), `driver` (the line).
"""

from offhook.drivers.sip.driver import SipDriver

__all__ = ["SipDriver"]
