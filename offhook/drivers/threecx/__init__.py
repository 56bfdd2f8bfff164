"""The `3cx` driver: 3CX's CRM integration (caller lookup, call journaling and the template it
imports; `template`, `report`, `web`) on a phone system of its own (`driver`, `options`).
"""

from offhook.drivers.threecx.driver import ThreeCxDriver

__all__ = ["ThreeCxDriver"]
