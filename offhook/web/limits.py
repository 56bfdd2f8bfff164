"""Limits before work: a request's body is bounded before anything reads it.

Each kind of route has its own bound (JSON small, forms larger, the address-book upload
largest). A body announced as larger is refused from its Content-Length without reading a
byte; a body sent without one (chunked) or longer than announced is counted as it arrives and
refused when it passes the bound. An API request that carries neither a session cookie nor a
token is refused before its body is read: without a login it could do nothing anyway.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
MIB = 1024 * KIB
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# uvicorn (h11) bounds only a header block that arrives in pieces; one that arrives whole is
# counted here.
MAX_HEADERS = 100
MAX_HEADER_BYTES = 16 * KIB
API_LOGIN = "Log in or send an API token (Authorization: Bearer …)."
# A WebSocket message, bounded while it arrives (drivers' agents talk over WebSockets; a TAPI
# agent's messages are at most 256 KB); uvicorn's own bound is 16 MB.
MAX_WEBSOCKET_MESSAGE = 1 * MIB


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """Bytes a request body may have, by the kind of route."""

    json: int = 64 * KIB
    form: int = 1 * MIB
    upload: int = 20 * MIB
    upload_paths: tuple[str, ...] = ("/imports",)

    def for_request(self, path: str, content_type: str) -> int:
        if path in self.upload_paths:
            return self.upload
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            return self.form
        return self.json


def _too_large(limit: int) -> str:
    size = f"{limit // MIB} MB" if limit >= MIB else f"{limit // KIB} KB"
    return f"The request is too large: at most {size} are accepted here."


class BodyTooLarge(HTTPException):
    """The body passed its bound while it was read. An HTTPException, so that whatever was
    reading it (FastAPI's body parsing, a form) lets it through to the app's error page."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit), headers={"Connection": "close"})


async def answer(
    scope: Scope,
    send: Send,
    status: int,
    detail: str,
    close: bool = False,
    extra: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """The API's JSON error, or for a page the sentence itself (`extra`: more headers)."""
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
    else:
        body, kind = detail.encode(), b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *extra]
    if close:
        # The rest of the body is not read: the connection cannot carry another request.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class RequestLimits:
    """ASGI middleware that bounds request bodies (see the module's docstring)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits, session_cookie: str) -> None:
        self.app = app
        self.limits = limits
        self.session_cookie = session_cookie

    def _anonymous_api(self, scope: Scope) -> bool:
        if not scope["path"].startswith("/api/") or scope["method"] in SAFE_METHODS:
            return False
        if _header(scope, b"authorization"):
            return False
        return f"{self.session_cookie}=" not in _header(scope, b"cookie")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        if len(headers) > MAX_HEADERS or sum(len(k) + len(v) for k, v in headers) > (
            MAX_HEADER_BYTES
        ):
            detail = "The request has too many or too long headers."
            await answer(scope, send, 431, detail, close=True)
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if self._anonymous_api(scope):
            await answer(scope, send, 401, API_LOGIN, close=True)
            return
        limit = self.limits.for_request(scope["path"], _header(scope, b"content-type"))
        announced = _header(scope, b"content-length")
        if announced:
            if not announced.isdigit():
                await answer(scope, send, 400, "The Content-Length header is not a number.", True)
                return
            if int(announced) > limit:
                await answer(scope, send, 413, _too_large(limit), close=True)
                return

        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await answer(scope, send, 413, _too_large(limit), close=True)
