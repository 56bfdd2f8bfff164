"""One AMI connection, on panoramisk's protocol: login, actions, events.

panoramisk correlates actions with their responses (by ActionID, including event lists such as
CoreShowChannels) and dispatches events. Two things of it are replaced: the framing, which
panoramisk does on decoded text (a UTF-8 name split across two reads is torn, see
`framing`), and the login, which here uses the MD5 challenge so the secret never crosses the
network. Events the driver does not read are dropped right after framing, before panoramisk
builds a message of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from collections import deque
from collections.abc import Callable, Collection, Mapping
from typing import Any

from panoramisk.actions import Action  # type: ignore[import-untyped]
from panoramisk.ami_protocol import AMIProtocol  # type: ignore[import-untyped]
from panoramisk.message import Message  # type: ignore[import-untyped]

from offhook.drivers.asterisk.framing import AmiFramer, FramingError

log = logging.getLogger(__name__)

BANNER_TIMEOUT = 10.0
ACTION_TIMEOUT = 15.0


class AmiError(Exception):
    """The connection failed or an action was refused; the message is for the user."""


class LoginRefused(AmiError):
    """Asterisk refused the user and secret: retrying soon will not help."""


class NotPermitted(LoginRefused):
    """The AMI user lacks a right the driver needs (manager.conf): retrying soon will not help."""


class _Action(Action):  # type: ignore[misc]
    """panoramisk's action, but a refused list action (one Error, no list) answers at once.

    panoramisk waits for the list's events after an Error when asked for a list, so a missing
    right would look like an Asterisk that does not answer.
    """

    def add_message(self, message: Message) -> bool | None:
        if self.as_list and not self.responses and message.get("Response") == "Error":
            self.responses.append(message)
            if not self.future.done():
                self.future.set_result([message])
            return True
        result: bool | None = super().add_message(message)
        return result


class _Protocol(AMIProtocol):  # type: ignore[misc]
    def __init__(self, client: AmiClient) -> None:
        self._client = client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.factory = self._client
        self.encoding = "utf-8"
        self.framer = AmiFramer(self._client.wanted)

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.framer.feed(data)
        except FramingError as exc:
            self._client.lost(f"Asterisk sent something that is not AMI ({exc})")
            self.transport.close()
            return
        if self.framer.version and not self._client.banner.done():
            self._client.banner.set_result(self.framer.version)
        for message in messages:
            kind = message.headers.get("Event")
            unasked = kind is not None and "ActionID" not in message.headers
            if unasked and kind not in self._client.wanted:
                continue  # filtered early: a busy PBX sends far more than we read
            if unasked and kind != "Shutdown":
                # A call event answers no action: straight to the driver as the plain dict it
                # is (panoramisk's case-insensitive message costs as much as the framing).
                self._client.dispatch(message.headers)
                continue
            headers: dict[str, Any] = dict(message.headers)
            for key, value in message.extra:
                first = headers[key]
                headers[key] = [*first, value] if isinstance(first, list) else [first, value]
            self.handle_message(Message(headers))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._client.lost(
            f"the connection was lost ({exc})" if exc else "Asterisk closed the connection"
        )


class AmiClient:
    """The panoramisk "factory": what its protocol calls back."""

    def __init__(
        self, on_event: Callable[[Mapping[str, str]], None], wanted: Collection[str]
    ) -> None:
        self.on_event = on_event
        self.wanted = frozenset(wanted) | {"FullyBooted", "Shutdown", "OriginateResponse"}
        self.forgetable_actions = ("ping", "login", "challenge")
        self.awaiting_actions: deque[Any] = deque()
        self.save_stream = None
        self.protocol: _Protocol | None = None
        self.banner: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.closed = asyncio.Event()
        self.reason = ""

    async def connect(self, host: str, port: int, tls: ssl.SSLContext | None) -> str:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _Protocol(self), host, port, ssl=tls),
                BANNER_TIMEOUT,
            )
        except (OSError, TimeoutError) as exc:
            raise AmiError(
                f"cannot reach Asterisk at {host}:{port} ({exc or 'timed out'})"
            ) from exc
        self.protocol = protocol
        try:
            return await asyncio.wait_for(asyncio.shield(self.banner), BANNER_TIMEOUT)
        except TimeoutError as exc:
            self.close()
            raise AmiError(f"{host}:{port} did not greet as an Asterisk manager") from exc

    async def login(self, username: str, secret: str) -> None:
        challenge = await self.action({"Action": "Challenge", "AuthType": "MD5"})
        if challenge.success and challenge.get("Challenge"):
            # AMI's challenge login is MD5 by definition; it keeps the secret off the wire.
            key = hashlib.md5(
                (challenge["Challenge"] + secret).encode("utf-8"), usedforsecurity=False
            ).hexdigest()
            fields = {"Action": "Login", "AuthType": "MD5", "Username": username, "Key": key}
        else:
            fields = {"Action": "Login", "Username": username, "Secret": secret}
        reply = await self.action({**fields, "Events": "on"})
        if not reply.success:
            why = reply.get("Message") or "refused"
            raise LoginRefused(f"Asterisk refused the AMI login of user {username!r}: {why}")

    async def action(
        self,
        fields: Mapping[str, str],
        timeout: float = ACTION_TIMEOUT,
        as_list: bool = False,
    ) -> Any:
        """Send an action; its response, or with `as_list` every message of its event list.

        Without `as_list` the first response answers, even where panoramisk would wait for
        more (an asynchronous Originate's OriginateResponse comes as an event instead).
        """
        if self.protocol is None or self.protocol.closed:
            raise AmiError("not connected to Asterisk")
        for key, value in fields.items():
            if any(c in f"{key}{value}" for c in "\r\n\x00"):
                raise AmiError(f"refusing to send {key!r}: it contains a line break")
        future = self.protocol.send(_Action(dict(fields), as_list=as_list), as_list=as_list)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise AmiError(f"Asterisk did not answer {fields.get('Action')} in time") from exc

    # --- called by the protocol ----------------------------------------------------------------

    def dispatch(self, message: Mapping[str, Any]) -> None:
        try:
            self.on_event(message)
        except Exception:  # a mapping bug must not take the connection down silently
            log.exception("AMI event %s could not be handled", message.get("Event"))
            raise

    def connection_lost(self, exc: object) -> None:
        if isinstance(exc, Message):  # panoramisk passes the Shutdown event
            self.lost("Asterisk is shutting down")
        else:
            self.lost(str(exc) if exc else "Asterisk closed the connection")

    def lost(self, reason: str) -> None:
        if not self.closed.is_set():
            self.reason = reason
            self.closed.set()
            if not self.banner.done():
                self.banner.set_exception(AmiError(reason))
                self.banner.exception()  # retrieved: nobody may be waiting

    def close(self) -> None:
        if self.protocol is not None and not self.protocol.closed:
            self.protocol.closed = True
            self.protocol.transport.close()
        self.lost("closed by offhook")
