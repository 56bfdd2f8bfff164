"""The generic push URL and set-up page (see `offhook.drivers.webhooks.web`)."""

from offhook.drivers.webhook.driver import GenericWebhookDriver
from offhook.drivers.webhooks.web import hook_router

router = hook_router(GenericWebhookDriver)
