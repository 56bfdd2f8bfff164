"""The sipgate push URL and set-up page (see `offhook.drivers.webhooks.web`)."""

from offhook.drivers.sipgate.driver import SipgateDriver
from offhook.drivers.webhooks.web import hook_router

router = hook_router(SipgateDriver)
