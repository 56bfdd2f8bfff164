"""The `sipgate` driver: `push` (sipgate.io's fields), `signature` (its RSA check), `driver`
(the phone system, click to dial), `web` (its URL and set-up page). README.md sets it up."""

from offhook.drivers.sipgate.driver import SipgateDriver

__all__ = ["SipgateDriver"]
