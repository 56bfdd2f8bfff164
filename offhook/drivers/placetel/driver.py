"""The `placetel` driver: a Placetel PROFI account through its notify API, and click to dial
through Placetel's REST API.

One phone system per account. Each line is one SIP user (`777abcdefg@fpbx.de`, as Placetel
names it in `peer`), with the numbers whose incoming calls ring it: Placetel names no user for
an incoming call until someone answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator

from offhook.drivers import DialRequest, Direction, DriverError
from offhook.drivers.placetel import push as placetel_push
from offhook.drivers.webhooks import (
    Ending,
    HookAnswer,
    HookRequest,
    Push,
    Refused,
    WebhookDriver,
    WebhookOptions,
)
from offhook.drivers.webhooks.rest import call_api
from offhook.settings.language import N_

API_URL = "https://api.placetel.de/v2"


class PlacetelOptions(WebhookOptions):
    shared_secret: SecretStr = Field(
        SecretStr(""),
        title="Shared secret",
        description=N_(
            "The secret set in Placetel's external API settings: every notification "
            "must then be signed with it (X-PLACETEL-SIGNATURE). Strongly advised; empty, the "
            "secret "
            "address is the only protection."
        ),
        max_length=500,
        json_schema_extra={"secret": True},
    )
    api_url: str = Field(
        API_URL,
        title="REST API address",
        description=N_("Placetel's REST API, for click to dial."),
        max_length=300,
    )
    api_token: SecretStr = Field(
        SecretStr(""),
        title="API token",
        description=N_(
            "For click to dial: an API token from the Placetel web portal (Settings › "
            "Placetel API). Empty: no click to dial."
        ),
        max_length=500,
        json_schema_extra={"secret": True},
    )

    @field_validator("api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("give the API address with https://")
        return value


class PlacetelDriver(WebhookDriver):
    name: ClassVar[str] = "placetel"
    title: ClassVar[str] = "Placetel"
    description: ClassVar[str] = N_(
        "A Placetel PROFI account: calls notified by Placetel's notify API, click to dial "
        "through its REST API."
    )
    can_dial: ClassVar[bool] = True
    line_address_label: ClassVar[str] = N_("SIP user")
    line_address_example: ClassVar[str] = "777abcdefg@fpbx.de"
    routes: ClassVar[str | None] = "offhook.drivers.placetel.web:router"
    portal_steps: ClassVar[tuple[str, ...]] = (
        "Log in to the Placetel web portal (web.placetel.de) as an administrator.",
        "Open Settings › External APIs and paste {url} as the URL of the notify API.",
        "Set a shared secret there and enter the same on this phone system in offhook.",
        "Tick the numbers whose calls are notified (all numbers that ring your users), on the "
        "same page or in each number's routing, Miscellaneous tab.",
        "For outgoing calls: give each SIP user a caller ID; Placetel notifies none without.",
        "Leave the numbers' routing as it is: offhook only listens; with routing set to "
        "External API, Placetel would ask offhook where to send calls.",
    )
    portal_note: ClassVar[str] = (
        "Placetel names no user for an incoming call until someone answers: give each line the "
        "numbers that ring it (Numbers), or calls show only once answered."
    )
    Options = PlacetelOptions
    options: PlacetelOptions

    def verify(self, request: HookRequest) -> None:
        secret = self.options.shared_secret.get_secret_value()
        if not secret:
            return
        sent = request.headers.get(placetel_push.SIGNATURE_HEADER, "")
        if not sent:
            raise Refused(403, "The notification carries no X-PLACETEL-SIGNATURE.")
        if not placetel_push.is_signed(secret, request.body, sent):
            raise Refused(403, "The notification's signature does not match the shared secret.")

    def read(self, fields: Mapping[str, list[str]]) -> Push | None:
        return placetel_push.read_push(fields)

    def ending(self, cause: str, direction: Direction) -> Ending:
        return placetel_push.ending(cause, direction)

    def reply(self, push: Push | None, hook_url: str) -> HookAnswer:
        # The notify API ignores the answer; an empty response leaves routing to Placetel.
        return HookAnswer(
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Response/>\n', "application/xml"
        )

    async def dial(self, line_id: int, request: DialRequest) -> None:
        token = self.options.api_token.get_secret_value()
        if not token:
            raise DriverError(
                "calling from offhook needs a Placetel API token: an admin enters it in "
                "Settings › Phone systems"
            )
        line = self.context.lines.get(line_id)
        if line is None:
            raise DriverError("this line is not on the Placetel phone system")
        self.expect_dial(line_id, request)
        await call_api(
            "POST",
            f"{self.options.api_url}/calls",
            {"Authorization": f"Bearer {token}"},
            {"sipuid": line.address, "target": request.dial_string},
        )
