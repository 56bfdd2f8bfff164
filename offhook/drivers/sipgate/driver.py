"""The `sipgate` driver: a sipgate account (sipgate team, basic, trunking, simquadrat) through
sipgate.io's push API, and click to dial through sipgate's REST API.

One phone system per account. Each line is one sipgate user, by id (`w0`, or the full
`1234567w0`) or by name as sipgate sends it; its options may add the user's numbers and the
device that click to dial rings first (`e0`, `p0` …).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from pydantic import Field, SecretStr, field_validator

from offhook.drivers import DialRequest, Direction, DriverError
from offhook.drivers.sipgate import push as sipgate_push
from offhook.drivers.sipgate.signature import HEADER, BadKey, is_signed, public_key
from offhook.drivers.webhooks import (
    Ending,
    HookAnswer,
    HookRequest,
    Push,
    PushKind,
    Refused,
    WebhookDriver,
    WebhookLineOptions,
    WebhookOptions,
)
from offhook.drivers.webhooks.rest import call_api
from offhook.settings.language import N_

API_URL = "https://api.sipgate.com/v2"
XML = "application/xml"


class SipgateOptions(WebhookOptions):
    verify_signature: bool = Field(
        True,
        title="Check sipgate's signature",
        description=N_(
            "Accept only pushes signed by sipgate. Switch off only to try the URL with "
            "curl; the secret URL then is the only protection."
        ),
    )
    signature_key: str = Field(
        "",
        title="sipgate's public key",
        description=N_(
            "Empty: the key sipgate publishes, shipped with offhook. Paste another "
            "(PEM) only if sipgate announces a new one."
        ),
        max_length=4000,
    )
    api_url: str = Field(
        API_URL,
        title="REST API address",
        description=N_("sipgate's REST API, for click to dial."),
        max_length=300,
    )
    token_id: str = Field(
        "",
        title="Personal access token ID",
        description=N_(
            "For click to dial: a personal access token with the scope "
            "sessions:calls:write (sipgate app › Account › Personal access tokens), e.g. "
            "token-AB12CD."
        ),
        max_length=200,
    )
    token: SecretStr = Field(
        SecretStr(""),
        title="Personal access token",
        description=N_("The token itself, shown once when you create it."),
        max_length=500,
        json_schema_extra={"secret": True},
    )

    @field_validator("signature_key")
    @classmethod
    def _key(cls, value: str) -> str:
        try:
            public_key(value)
        except BadKey as exc:
            raise ValueError(str(exc)) from exc
        return value.strip()

    @field_validator("api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("give the API address with https://")
        return value


class SipgateLineOptions(WebhookLineOptions):
    device_id: str = Field(
        "",
        title="Device for click to dial",
        description=N_(
            "The user's sipgate device that rings first when they call from offhook "
            "(e.g. e0 for a VoIP phone, p0 for the app). Empty: no click to dial on this line."
        ),
        max_length=40,
    )


class SipgateDriver(WebhookDriver):
    name: ClassVar[str] = "sipgate"
    title: ClassVar[str] = "sipgate"
    description: ClassVar[str] = N_(
        "A sipgate account (team, basic, trunking): calls pushed by sipgate.io, click to dial "
        "through sipgate's REST API."
    )
    can_dial: ClassVar[bool] = True
    can_hangup: ClassVar[bool] = True
    line_address_label: ClassVar[str] = N_("sipgate user")
    line_address_example: ClassVar[str] = "w0"
    routes: ClassVar[str | None] = "offhook.drivers.sipgate.web:router"
    portal_steps: ClassVar[tuple[str, ...]] = (
        "Log in to sipgate (app.sipgate.com, or console.sipgate.com for sipgate basic) and book "
        "sipgate.io if your account lacks it.",
        "Open the webhook settings (Account › Webhooks › URLs; in sipgate team: Settings › "
        "sipgate.io).",
        "Paste {url} as the URL for incoming calls and as the URL for outgoing calls.",
        "Choose which numbers or users send webhooks (all of them, for every user's journal).",
        "Save, then press “Send a test event” below, and make a call: it shows in the list.",
    )
    portal_note: ClassVar[str] = (
        "sipgate signs every push with its key; offhook checks the signature. offhook answers "
        "each new call asking sipgate for its answer and hang-up, so nothing more is needed."
    )
    Options = SipgateOptions
    LineOptions = SipgateLineOptions
    options: SipgateOptions

    # --- pushes ----------------------------------------------------------------------------------

    def verify(self, request: HookRequest) -> None:
        if not self.options.verify_signature:
            return
        signature = request.headers.get(HEADER, "")
        if not signature:
            raise Refused(403, "The push carries no sipgate signature (X-Sipgate-Signature).")
        if not is_signed(public_key(self.options.signature_key), request.body, signature):
            raise Refused(403, "The push's signature is not sipgate's.")

    def read(self, fields: Mapping[str, list[str]]) -> Push | None:
        return sipgate_push.read_push(fields)

    def ending(self, cause: str, direction: Direction) -> Ending:
        return sipgate_push.ending(cause, direction)

    def reply(self, push: Push | None, hook_url: str) -> HookAnswer:
        head = '<?xml version="1.0" encoding="UTF-8"?>\n'
        if push is not None and push.kind is PushKind.NEW:
            # Without these, sipgate sends no answer and no hang-up of the call.
            url = quoteattr(hook_url)
            xml = f"{head}<Response onAnswer={url} onHangup={url}/>\n"
        else:
            xml = f"{head}<Response/>\n"
        return HookAnswer(xml.encode(), XML)

    # --- click to dial ---------------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        token = self.options.token.get_secret_value()
        if not (self.options.token_id and token):
            raise DriverError(
                "calling from offhook needs a sipgate personal access token: an admin enters it "
                "in Settings › Phone systems"
            )
        pair = f"{self.options.token_id}:{token}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    async def dial(self, line_id: int, request: DialRequest) -> None:
        line = self.context.lines.get(line_id)
        device = str(line.options.get("device_id") or "") if line else ""
        if not device:
            raise DriverError(
                "this line has no sipgate device to call from: an admin sets it (e.g. e0) in "
                "Settings › Lines"
            )
        headers = self._auth()
        callee = request.number if request.number.startswith("+") else request.dial_string
        # Before the request: sipgate may push the new call before it answers us.
        self.expect_dial(line_id, request)
        _, answer = await call_api(
            "POST",
            f"{self.options.api_url}/sessions/calls",
            headers,
            {"deviceId": device, "caller": device, "callee": callee},
        )
        session = answer.get("sessionId") if isinstance(answer, dict) else None
        if isinstance(session, str) and session:
            # sipgate's push callId is the session id: the call is found by it too.
            self.expect_dial(line_id, request, session)

    async def hangup(self, line_id: int, call_ref: str) -> None:
        if call_ref.startswith("dial:"):
            raise DriverError("sipgate has not reported the call yet: hang up on the phone")
        url = f"{self.options.api_url}/calls/{quote(call_ref, safe='')}"
        await call_api("DELETE", url, self._auth())
