"""What the webhook drivers (`sipgate`, `placetel`, `webhook`) share: a phone system that
posts its call events to a secret URL.

`driver` (the base class and its options), `body` (bounded reading and parsing), `replay`,
`lines` (finding lines by user or number), `push` and `tracker` (from pushes to call events),
`web` (the URL and the set-up page). Not a driver itself: it has no entry point.
"""

from offhook.drivers.webhooks.body import Fields, Refused, first
from offhook.drivers.webhooks.driver import (
    HookAnswer,
    HookRequest,
    WebhookDriver,
    WebhookLineOptions,
    WebhookOptions,
)
from offhook.drivers.webhooks.push import Ending, Push, PushKind, direction_of, is_voicemail

__all__ = [
    "Ending",
    "Fields",
    "HookAnswer",
    "HookRequest",
    "Push",
    "PushKind",
    "Refused",
    "WebhookDriver",
    "WebhookLineOptions",
    "WebhookOptions",
    "direction_of",
    "first",
    "is_voicemail",
]
