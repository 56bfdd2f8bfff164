"""Actions on lines run by another server: dial, answer and hang up, passed on through Redis.

A browser talks to whichever server the reverse proxy chose; the phone system of its line is
run by one server only (see `leases`). A server that does not run the line asks every server
on one Redis channel; the one that runs it acts and answers on the asking server's own
channel. Nothing is queued: an action that nobody answers within `ANSWER_SECONDS` fails, and
the user is told, as when a phone system is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

REQUESTS = "offhook:line-actions"
ANSWERS = "offhook:line-answers:"
ANSWER_SECONDS = 5.0
RETRY_SECONDS = 1.0

#: Runs an action here: (line id, action, its arguments) → an error message for the user, or
#: None if the line is not run by this server. Raises nothing.
Performer = Callable[[int, str, dict[str, Any]], Awaitable[str | None]]


class RelayError(Exception):
    """The action did not reach the line's server, or failed there; the message says why."""


class ActionRelay:
    def __init__(self, perform: Performer) -> None:
        self.server_id = uuid.uuid4().hex
        self._perform = perform
        self._redis: Any = None
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self._redis is not None

    async def connect(self, url: str) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        self._task = asyncio.create_task(self._listen(), name="line-action-relay")

    async def ask(self, line_id: int, action: str, arguments: dict[str, Any]) -> None:
        """Have the server that runs the line do `action`; raises `RelayError`."""
        if self._redis is None:
            raise RelayError("this line is run by another server, which cannot be reached")
        request_id = uuid.uuid4().hex
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        request = {
            "id": request_id,
            "reply_to": self.server_id,
            "line_id": line_id,
            "action": action,
            "arguments": arguments,
        }
        try:
            try:
                heard = await self._redis.publish(REQUESTS, json.dumps(request))
            except Exception as exc:
                raise RelayError("the server that runs this line cannot be reached") from exc
            if not heard:
                raise RelayError("no server runs this line right now")
            try:
                async with asyncio.timeout(ANSWER_SECONDS):
                    error = await answer
            except TimeoutError:
                raise RelayError("the server that runs this line did not answer") from None
            if error:
                raise RelayError(error)
        finally:
            self._waiting.pop(request_id, None)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(REQUESTS, ANSWERS + self.server_id)
                    while True:
                        raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                        if raw is not None and raw.get("type") == "message":
                            self._heard(raw["channel"], raw["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("line action relay: Redis subscription failed, retrying: %s", exc)
                await asyncio.sleep(RETRY_SECONDS)

    def _heard(self, channel: bytes | str, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            log.warning("ignored a malformed line action from Redis: %s", exc)
            return
        name = channel.decode() if isinstance(channel, bytes) else channel
        if name == REQUESTS:
            task = asyncio.get_running_loop().create_task(self._serve(message))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            return
        answer = self._waiting.get(str(message.get("id")))
        if answer is not None and not answer.done():
            answer.set_result(str(message.get("error") or ""))

    async def _serve(self, request: dict[str, Any]) -> None:
        try:
            line_id = int(request["line_id"])
            arguments = request.get("arguments") or {}
            error = await self._perform(line_id, str(request["action"]), dict(arguments))
            if error is None:
                return  # not ours: the server that runs the line answers
            reply = {"id": str(request["id"]), "error": error}
            await self._redis.publish(ANSWERS + str(request["reply_to"]), json.dumps(reply))
        except Exception as exc:
            log.warning("could not serve a line action from another server: %s", exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._running):
            task.cancel()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
