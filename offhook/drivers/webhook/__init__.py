"""The `webhook` driver: a generic call-event push in Zammad's generic CTI format. `push` (its
fields), `signature` (offhook's optional timestamped HMAC), `driver`, `web`. README.md sets it
up."""

from offhook.drivers.webhook.driver import GenericWebhookDriver

__all__ = ["GenericWebhookDriver"]
