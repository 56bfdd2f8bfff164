"""Live push: journal updates fanned out to every browser of a user.

Each server keeps its own subscribers. With `OFFHOOK_REDIS_URL` set, updates also travel over
Redis pub/sub, so a team can run several servers behind a load balancer and a call recorded on
one shows up on browsers connected to any.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "offhook:journal"
QUEUE_SIZE = 256
RESYNC: dict[str, Any] = {"type": "resync"}
BYE: dict[str, Any] = {"type": "bye"}


class JournalHub:
    def __init__(self) -> None:
        self._subscribers: dict[int, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self.server_id = uuid.uuid4().hex
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        return sum(len(queues) for queues in self._subscribers.values())

    @asynccontextmanager
    async def subscribe(self, user_id: int) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[user_id].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[user_id].discard(queue)
            if not self._subscribers[user_id]:
                del self._subscribers[user_id]

    def deliver(self, user_id: int, message: dict[str, Any]) -> None:
        """Hand a message to this server's subscribers of `user_id`."""
        for queue in list(self._subscribers.get(user_id, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                # A stalled browser: drop its backlog and tell it to fetch the journal afresh.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)

    def goodbye(self) -> None:
        """The server is stopping: end every live stream now instead of when it times out."""
        for user_id in list(self._subscribers):
            self.deliver(user_id, BYE)

    async def publish(self, user_id: int, message: dict[str, Any]) -> None:
        self.deliver(user_id, message)
        if self._redis is not None:
            payload = json.dumps({"server": self.server_id, "user": user_id, "message": message})
            try:
                await self._redis.publish(CHANNEL, payload)
            except Exception as exc:  # other servers miss this update; ours has it already
                log.warning("could not pass a journal update to the other servers: %s", exc)

    async def connect_redis(self, url: str) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(url)
        await self._redis.ping()
        self._listener = asyncio.create_task(self._listen(), name="journal-hub-redis")

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    delay = 0.5
                    async for raw in pubsub.listen():
                        if raw.get("type") == "message":
                            self._from_redis(raw["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("lost Redis, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _from_redis(self, data: bytes | str) -> None:
        try:
            envelope = json.loads(data)
            if envelope["server"] == self.server_id:
                return
            self.deliver(int(envelope["user"]), envelope["message"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignored a malformed journal update from Redis: %s", exc)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()
