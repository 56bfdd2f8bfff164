"""The `webhook` driver: any PBX or script that posts call events to a URL, in the generic CTI
format Zammad documents (newCall, answer, hangup; form, multipart or JSON).

One phone system per PBX. Each line is one user, by the name the PBX sends in `user` (its
aliases: the login, e-mail or extension it sends as `answeringNumber`), with its numbers.
Zammad's format has no signature, only the secret address; a PBX that can sign may add
offhook's own timestamped HMAC (`signing_secret`), and unsigned requests are then refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field, SecretStr

from offhook.drivers import Direction
from offhook.drivers.webhook import push as generic
from offhook.drivers.webhook.signature import SIGNATURE_HEADER, TIME_HEADER, WINDOW, is_signed
from offhook.drivers.webhooks import (
    Ending,
    HookAnswer,
    HookRequest,
    Push,
    Refused,
    WebhookDriver,
    WebhookLineOptions,
    WebhookOptions,
)
from offhook.drivers.webhooks.replay import ReplayGuard
from offhook.settings.language import N_


class GenericOptions(WebhookOptions):
    signing_secret: SecretStr = Field(
        SecretStr(""),
        title="Signing secret",
        description=N_(
            "Optional. Set it when your PBX signs its requests as offhook's README "
            "describes (X-Offhook-Timestamp, X-Offhook-Signature): unsigned, expired and replayed "
            "requests are then refused. Empty: the secret address alone, as in Zammad."
        ),
        max_length=500,
        json_schema_extra={"secret": True},
    )
    international_without_plus: bool = Field(
        True,
        title="Long numbers without 0 or + are international",
        description=N_(
            "As in Zammad's format: 493023125741 is +49 30 23125741. Switch off if "
            "your PBX sends national numbers without a leading 0 (as in North America)."
        ),
    )


class GenericLineOptions(WebhookLineOptions):
    aliases: list[str] = Field(
        default_factory=list,
        title="Other names",
        description=N_(
            "Other names the PBX gives this user, e.g. in answeringNumber: the "
            "login, e-mail or extension (one per row)."
        ),
        max_length=20,
    )


class GenericWebhookDriver(WebhookDriver):
    name: ClassVar[str] = "webhook"
    title: ClassVar[str] = N_("Generic call-event push")
    description: ClassVar[str] = N_(
        "Any PBX or script that posts newCall, answer and hangup events to a URL, in the "
        "format Zammad's generic CTI integration documents."
    )
    line_address_label: ClassVar[str] = N_("User (as the PBX names them)")
    line_address_example: ClassVar[str] = "Anna Müller"
    routes: ClassVar[str | None] = "offhook.drivers.webhook.web:router"
    accepts_json: ClassVar[bool] = True
    portal_steps: ClassVar[tuple[str, ...]] = (
        "In your PBX (or the script that feeds Zammad today), find where the CTI or call-event "
        "URL is entered.",
        "Enter {url} there: offhook takes the same events as Zammad's generic CTI "
        "(newCall, answer, hangup), as a form or as JSON.",
        "Name the users as the PBX sends them: each line's address is the name the PBX puts "
        "in `user`; other names it uses (in answeringNumber) go under Other names.",
        "Send a test event below, then make a call.",
    )
    portal_note: ClassVar[str] = (
        "The format has no signature: the secret address is the key, so serve it over HTTPS "
        "only. A PBX that can sign its requests should (see the driver's README)."
    )
    Options = GenericOptions
    LineOptions = GenericLineOptions
    options: GenericOptions

    def verify(self, request: HookRequest) -> None:
        secret = self.options.signing_secret.get_secret_value()
        if not secret:
            return
        stamp = request.headers.get(TIME_HEADER, "")
        sent = request.headers.get(SIGNATURE_HEADER, "")
        if not stamp or not sent:
            raise Refused(403, "The request is not signed (X-Offhook-Timestamp, -Signature).")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > WINDOW:
            raise Refused(403, "The request has expired: its timestamp is not within 5 minutes.")
        if not is_signed(secret, stamp, request.body, sent):
            raise Refused(403, "The request's signature does not match the signing secret.")

    def replay_key(self, request: HookRequest) -> bytes:
        stamp = request.headers.get(TIME_HEADER, "")
        return ReplayGuard.key(stamp.encode(), request.body)

    def read(self, fields: Mapping[str, list[str]]) -> Push | None:
        return generic.read_push(fields, self.options.international_without_plus)

    def ending(self, cause: str, direction: Direction) -> Ending:
        return generic.ending(cause, direction)

    def reply(self, push: Push | None, hook_url: str) -> HookAnswer:
        # Zammad answers {} when it has nothing to ask of the PBX; so does offhook.
        return HookAnswer(json.dumps({}).encode(), "application/json")
