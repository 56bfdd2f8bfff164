"""The `asterisk` driver: Asterisk and FreePBX over the manager interface (AMI).

Layers, one module each: `framing` (AMI bytes → messages), `connection` (panoramisk's protocol,
MD5 login, actions), `mapping` (channel events → call events, pure), `options`, `driver` (the
phone system), `web` (the caller-name endpoint the PBX asks).
"""

from offhook.drivers.asterisk.driver import AsteriskDriver

__all__ = ["AsteriskDriver"]
