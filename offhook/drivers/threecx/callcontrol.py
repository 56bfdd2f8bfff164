"""3CX's Call Control API (V20), as its documentation describes it: what the live journal needs.

- `POST /connect/token` with the API client's ID and key (OAuth 2 client credentials) gives a
  bearer token for a limited time.
- `GET /callcontrol`: every DN the API client may see, with its participants (the snapshot after
  each connect); `GET /callcontrol/{dn}/participants/{id}`: one participant.
- `GET /callcontrol/ws` (WebSocket): `{"event": {"event_type", "entity", "attached_data"}}`
  for each change; `event_type` 0 (or "Upset") means the entity appeared or changed, 1 (or
  "Remove") that it went.
- `POST /callcontrol/{dn}/makecall` `{"destination": …}` places a call from the DN;
  `POST /callcontrol/{dn}/participants/{id}/drop` ends a participant.

Everything 3CX sends is bounded (WebSocket messages, JSON bodies) and checked for its shape.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

#: A Call Control event is a few hundred bytes; a snapshot of a big 3CX some hundred kB.
MAX_EVENT = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
#: A token is fetched again this long before 3CX says it expires.
TOKEN_MARGIN = 60.0
UPSET = {0, "0", "Upset", "upset"}
REMOVE = {1, "1", "Remove", "remove"}


class CallControlError(Exception):
    """3CX refused or could not be reached; the message is meant for the admin."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "upset" or "remove"
    entity: str


class CallControl:
    """One 3CX's Call Control API, with its token."""

    def __init__(
        self, base_url: str, client_id: str, client_secret: str, verify_tls: bool = True
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = httpx.AsyncClient(base_url=self.base_url, verify=verify_tls, timeout=15.0)
        self._verify = verify_tls
        self._token = ""
        self._expires = 0.0

    async def close(self) -> None:
        await self._http.aclose()

    async def token(self) -> str:
        if self._token and time.monotonic() < self._expires - TOKEN_MARGIN:
            return self._token
        try:
            response = await self._http.post(
                "/connect/token",
                data={
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "grant_type": "client_credentials",
                },
            )
        except httpx.HTTPError as exc:
            raise CallControlError(f"cannot reach the 3CX at {self.base_url} ({exc})") from exc
        if response.status_code in (400, 401, 403):
            raise CallControlError(
                "the 3CX refused the API client's ID or key (Integrations › API)"
            )
        data = self._json(response)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise CallControlError("the 3CX gave no access token")
        expires_in = data.get("expires_in", 3600)
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        self._token, self._expires = token, time.monotonic() + max(lifetime, TOKEN_MARGIN + 1)
        return token

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self.token()}"}
            try:
                response = await self._http.request(method, path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                raise CallControlError(f"cannot reach the 3CX at {self.base_url}") from exc
            if response.status_code == 401 and attempt == 1:
                self._token = ""  # expired early: fetch a new one, once
                continue
            if response.status_code == 404:
                raise CallControlError(f"the 3CX does not know {path}")
            if response.status_code == 403:
                raise CallControlError(
                    "the 3CX does not let the API client do this: give it access to the "
                    "extensions (Integrations › API › extensions to monitor)"
                )
            if response.status_code >= 400:
                raise CallControlError(f"the 3CX answered {response.status_code} to {path}")
            return self._json(response)
        raise CallControlError("the 3CX keeps refusing the token")

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if len(response.content) > MAX_BODY:
            raise CallControlError("the 3CX's answer is too large")
        try:
            return json.loads(response.content or b"null")
        except ValueError as exc:
            raise CallControlError("the 3CX's answer is not JSON") from exc

    @contextlib.asynccontextmanager
    async def stream(self) -> AsyncIterator[AsyncIterator[Event]]:
        """The WebSocket of events, open: take the snapshot, then read the events, so that no
        change falls between the two."""
        url = "ws" + self.base_url.removeprefix("http") + "/callcontrol/ws"
        headers = {"Authorization": f"Bearer {await self.token()}"}
        options: dict[str, Any] = {}
        if url.startswith("wss://") and not self._verify:
            options["ssl"] = _unverified()
        try:
            async with connect(
                url, additional_headers=headers, max_size=MAX_EVENT, proxy=None, **options
            ) as socket:
                yield _events(socket)
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise CallControlError(f"the 3CX's event stream ended ({exc})") from exc


async def _events(socket: ClientConnection) -> AsyncIterator[Event]:
    async for message in socket:
        event = _event(message)
        if event is not None:
            yield event


def _unverified() -> ssl.SSLContext:
    # The admin turned certificate checks off (a 3CX with a self-signed certificate).
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _event(message: str | bytes) -> Event | None:
    try:
        data = json.loads(message)
    except ValueError:
        return None
    event = data.get("event") if isinstance(data, dict) else None
    if not isinstance(event, dict):
        return None
    kind = event.get("event_type")
    entity = event.get("entity")
    if not isinstance(entity, str) or not isinstance(kind, int | str):
        return None
    if kind in UPSET:
        return Event("upset", entity)
    if kind in REMOVE:
        return Event("remove", entity)
    return None
