"""`WebhookDriver`: a phone system that tells offhook of its calls by posting to a secret URL.

One instance serves one account (a sipgate account, a Placetel account, a PBX). Its URL is
`/drivers/<driver>/hooks/<token>`, the token being the phone system's secret `url_token`.
A request is checked in order of cost, and refused at the first failure: the token (before the
body is read), the body's size, the provider's signature, whether it was received before, and
its fields. Then the tracker turns it into call events.

A concrete driver says how its provider signs (`verify`), what its fields mean (`read`,
`ending`) and what the provider expects back (`reply`).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from abc import abstractmethod
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator

from offhook.drivers import DialRequest, Direction, Driver, LineState, PhoneSystemContext
from offhook.drivers.webhooks.body import Refused, parse_fields
from offhook.drivers.webhooks.push import Ending, Push
from offhook.drivers.webhooks.replay import ReplayGuard
from offhook.drivers.webhooks.tracker import CallTracker
from offhook.settings.language import N_

#: How long a "send a test event" check waits for its request, in seconds.
TEST_WAIT = 30.0
#: How many recent requests the set-up page lists.
RECEIPTS = 30
TEST_HEADER = "x-offhook-test"
#: What a push is called when another server passes it on (`Driver.relayed`); and what the
#: set-up page of another server asks: the address and the last requests, a test event's
#: nonce, whether that test event arrived.
RELAYED_PUSH = "push"
RELAYED_SETUP = "setup"
RELAYED_ISSUE_TEST = "issue test"
RELAYED_TEST_RECEIVED = "test received"


def new_token() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(24))


class WebhookOptions(Driver.Options):
    """What every webhook phone system has: its secret URL, and where offhook is reachable."""

    model_config = ConfigDict(extra="forbid")

    url_token: SecretStr = Field(
        default_factory=new_token,
        title="Secret URL token",
        description=N_(
            "Part of the address you paste into the provider's portal: whoever knows "
            "it can report calls. Made up for you; enter a new one (at least 16 characters) to "
            "replace it, then paste the new address."
        ),
        min_length=16,
        json_schema_extra={"secret": True},
    )
    public_url: str = Field(
        "",
        title="offhook's public address",
        description=N_(
            "The HTTPS address under which the provider reaches offhook, e.g. "
            "https://crm.example.com (your reverse proxy). Empty: the address you open offhook at."
        ),
        max_length=300,
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "give the address with http:// or https://, e.g. https://crm.example.com"
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("give only scheme, host, port and path, nothing after ? or #")
        return value


class WebhookLineOptions(Driver.LineOptions):
    model_config = ConfigDict(extra="forbid")

    numbers: list[str] = Field(
        default_factory=list,
        title="Numbers",
        description=N_(
            "Numbers whose calls ring this line, besides its address: the user's direct "
            "number, or a group number that rings several users (one per row)."
        ),
        max_length=50,
    )


@dataclass(frozen=True, slots=True)
class HookRequest:
    body: bytes
    content_type: str
    #: Header names in lower case.
    headers: Mapping[str, str]

    def relayed(self, base_url: str) -> dict[str, Any]:
        """As JSON, to pass on to the server that runs the phone system."""
        return {
            "body": base64.b64encode(self.body).decode(),
            "content_type": self.content_type,
            "headers": dict(self.headers),
            "base_url": base_url,
        }

    @classmethod
    def from_relayed(cls, payload: Mapping[str, Any]) -> tuple[HookRequest, str]:
        request = cls(
            body=base64.b64decode(str(payload["body"])),
            content_type=str(payload.get("content_type", "")),
            headers={str(k): str(v) for k, v in dict(payload.get("headers") or {}).items()},
        )
        return request, str(payload.get("base_url", ""))


@dataclass(frozen=True, slots=True)
class HookAnswer:
    body: bytes
    media_type: str
    status: int = 200

    def relayed(self) -> dict[str, Any]:
        body = base64.b64encode(self.body).decode()
        return {"body": body, "media_type": self.media_type, "status": self.status}

    @classmethod
    def from_relayed(cls, payload: Mapping[str, Any]) -> HookAnswer:
        body = base64.b64decode(str(payload["body"]))
        return cls(body, str(payload["media_type"]), int(payload["status"]))


@dataclass(frozen=True, slots=True)
class Receipt:
    at: datetime
    status: int
    text: str

    def relayed(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "status": self.status, "text": self.text}

    @classmethod
    def from_relayed(cls, payload: Mapping[str, Any]) -> Receipt:
        return cls(
            datetime.fromisoformat(payload["at"]), int(payload["status"]), str(payload["text"])
        )


class WebhookDriver(Driver):
    """The shared part of the webhook drivers (sipgate, Placetel, the generic push)."""

    Options = WebhookOptions
    LineOptions = WebhookLineOptions
    line_address_label: ClassVar[str] = N_("User")
    #: Whether the provider may send JSON as well as forms.
    accepts_json: ClassVar[bool] = False
    #: What to click in the provider's portal, for the set-up page: "{url}" is the address.
    portal_steps: ClassVar[tuple[str, ...]] = ()
    #: A note under the steps (what the provider signs, what it cannot).
    portal_note: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Every webhook driver has the kit's set-up page (`hook_router`), at its own name.
        cls.settings_links = (("Set-up and test…", f"/drivers/{cls.name}/setup/{{system_id}}"),)

    def __init__(self, context: PhoneSystemContext) -> None:
        super().__init__(context)
        self.options = self.Options.model_validate(dict(context.options))
        self.tracker = CallTracker(context, self.ending)
        self.receipts: deque[Receipt] = deque(maxlen=RECEIPTS)
        self._replays = ReplayGuard()
        self._tests: dict[str, float] = {}
        self.tests_received: set[str] = set()

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        # Nothing to connect to: the provider comes to us. Ready as soon as the URL answers.
        self.context.set_status(LineState.CONNECTED)

    async def stop(self) -> None:
        pass

    async def lines_changed(self) -> None:
        self.tracker.lines_changed()

    # --- the URL ---------------------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.options.url_token.get_secret_value()

    def token_matches(self, token: str) -> bool:
        mine = self.token
        return bool(mine) and hmac.compare_digest(mine.encode(), token.encode())

    def hook_path(self) -> str:
        return f"/drivers/{self.name}/hooks/{self.token}"

    def hook_url(self, request_base: str) -> str:
        return (self.options.public_url or request_base.rstrip("/")) + self.hook_path()

    # --- receiving -------------------------------------------------------------------------------

    async def handle(self, request: HookRequest, request_base: str) -> HookAnswer:
        """One request to the URL, on the server that runs the phone system (it came here, or
        another server passed it on): the test event, or a push; refusals as answers."""
        try:
            nonce = request.headers.get(TEST_HEADER)
            if nonce is not None:
                if not self.take_test(nonce):
                    raise Refused(403, "This test event was not sent by offhook.")
                return HookAnswer(b"offhook received the test event.\n", "text/plain")
            return await self.receive(request, self.hook_url(request_base))
        except Refused as refused:
            # Plain text: the provider's log shows it to whoever sets the account up.
            text = (refused.message + "\n").encode()
            return HookAnswer(text, "text/plain; charset=utf-8", refused.status)

    async def relayed(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        # A push that reached another server. It is applied here, where the phone system runs,
        # not recorded there: the tracker (which lines a call rang on, who answered, which call
        # a forward continues) and the replay guard live here, so every push of a call meets
        # the pushes before it, in the order they arrived, and a repeated push is known as one.
        if kind == RELAYED_PUSH:
            request, base = HookRequest.from_relayed(payload)
            return (await self.handle(request, base)).relayed()
        if kind == RELAYED_SETUP:
            receipts = [receipt.relayed() for receipt in self.receipts]
            return {"url": self.hook_url(str(payload["base_url"])), "receipts": receipts}
        if kind == RELAYED_ISSUE_TEST:
            return {"nonce": self.issue_test()}
        if kind == RELAYED_TEST_RECEIVED:
            return {"received": str(payload["nonce"]) in self.tests_received}
        return await super().relayed(kind, payload)

    async def receive(self, request: HookRequest, hook_url: str) -> HookAnswer:
        """Check one request and apply it; raises `Refused` with the answer when it fails.

        A push is answered 2xx only once its call events are stored: a provider that got 2xx
        does not send it again, so a server killed right after must not lose it. One that
        could not be stored is answered 503 and forgotten by the replay guard, so that the
        provider's retry is applied.
        """
        key = self.replay_key(request)
        try:
            self.verify(request)
            if not self._replays.first_time(key):
                raise Refused(409, "This request was received before; it is applied once.")
            fields = await parse_fields(request.body, request.content_type, self.accepts_json)
            push = self.read(fields)
        except Refused as refused:
            self.note(refused.status, refused.message)
            raise
        if push is None:
            self.note(200, "accepted, nothing to do (not a call event)")
            return self.reply(None, hook_url)
        done = self.tracker.apply(push)
        if not await self.context.stored():
            self._replays.forget(key)
            self.note(503, f"{push.kind.value} {push.call_id[:40]}: not stored")
            raise Refused(503, "The call event could not be stored now; send it again.")
        self.note(200, f"{push.kind.value} {push.call_id[:40]}: {done}")
        return self.reply(push, hook_url)

    def note(self, status: int, text: str) -> None:
        self.receipts.appendleft(Receipt(datetime.now(UTC), status, text[:300]))

    def replay_key(self, request: HookRequest) -> bytes:
        return ReplayGuard.key(request.body)

    # --- the test event --------------------------------------------------------------------------

    def issue_test(self) -> str:
        now = time.monotonic()
        self._tests = {n: t for n, t in self._tests.items() if now - t < TEST_WAIT}
        nonce = secrets.token_urlsafe(24)
        self._tests[nonce] = now
        return nonce

    def take_test(self, nonce: str) -> bool:
        """A test request offhook sent itself through the public URL: true once per test."""
        issued = self._tests.pop(nonce, None)
        if issued is None or time.monotonic() - issued > TEST_WAIT:
            self.note(403, "a test event that offhook did not send (or too late)")
            return False
        self.tests_received.add(nonce)
        self.note(200, "test event received through the public address")
        return True

    # --- what each provider says -----------------------------------------------------------------

    @abstractmethod
    def verify(self, request: HookRequest) -> None:
        """Raise `Refused(403, …)` unless the provider signed the request (where it signs)."""

    @abstractmethod
    def read(self, fields: Mapping[str, list[str]]) -> Push | None:
        """The push in the request's fields; None for one that is no call event (a DTMF
        result); `Refused(400, …)` for one that makes no sense."""

    @abstractmethod
    def ending(self, cause: str, direction: Direction) -> Ending:
        """What the provider's hang-up cause means."""

    @abstractmethod
    def reply(self, push: Push | None, hook_url: str) -> HookAnswer:
        """The answer the provider expects."""

    # --- dialling --------------------------------------------------------------------------------

    def expect_dial(self, line_id: int, request: DialRequest, call_id: str = "") -> None:
        self.tracker.expect_dial(line_id, request.number, request.dial_ref, call_id)
