"""Live push: journal updates fanned out to every browser of a user.

Each server keeps its own subscribers. With `OFFHOOK_REDIS_URL` set, updates also travel over
Redis pub/sub, so a team can run several servers behind a load balancer and a call recorded on
one shows up on browsers connected to any.

Redis pub/sub forgets what it could not deliver, so the hub heals every gap with a snapshot
instead of trying to replay: when its subscription is (re)established, every local stream is
told to resync; when an update could not be passed on, the other servers are told to resync
that user's streams as soon as Redis takes messages again. Redis is never in the way of a
recording: local streams get every update at once, and updates leave for Redis through a
queue of their own. A server starts without Redis and joins when it comes.
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

# Updates waiting to leave for Redis; beyond this the users concerned are resynced instead.
OUTBOX_SIZE = 1024
# Back-off between attempts to reach Redis; capped low, since browsers stay stale until then.
RETRY_FIRST = 0.25
RETRY_MAX = 4.0
# A subscription that hears nothing, not even the answer to a ping, is treated as lost: a
# connection cut without a reset (a paused Redis, a dropped route) would otherwise look idle.
PING_EVERY = 2.0
SILENT_LIMIT = 6.0
# Bounds for one command, so a stalled Redis holds up the outbox only this long.
COMMAND_TIMEOUT = 3.0

# What leaves for Redis: the updates of one batch of call events, or None: only pass on the
# resyncs still owed.
Outgoing = list[tuple[int, dict[str, Any]]] | None


class Message(dict[str, Any]):
    """A message for the streams, with its server-sent-event text made once: a batch of call
    events reaches thousands of streams, and each would otherwise encode it again."""

    __slots__ = ("text",)

    def __init__(self, message: dict[str, Any]) -> None:
        super().__init__(message)
        self.text = f"event: {message['type']}\ndata: {json.dumps(message)}\n\n"


def event_text(message: dict[str, Any]) -> str:
    """The message as one server-sent event."""
    if isinstance(message, Message):
        return message.text
    return Message(message).text


class JournalHub:
    def __init__(self) -> None:
        self._subscribers: dict[int, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self.server_id = uuid.uuid4().hex
        self._redis: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: asyncio.Queue[Outgoing] | None = None
        # Users with updates the other servers never got: they owe those users' streams a
        # resync.
        self._unsent: set[int] = set()
        self._reachable: bool | None = None
        self._retry = RETRY_FIRST  # the listener's back-off; reset once Redis answers
        # Set when the subscription is back: it ends the sender's back-off at once, so updates
        # flow again as updates instead of after up to RETRY_MAX more seconds.
        self._answering = asyncio.Event()
        self.resyncs = 0  # how often the subscription was (re)established: for tests and logs
        self.dropped = 0  # streams dropped for not reading: for tests and benchmarks

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
            queues = self._subscribers.get(user_id)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._subscribers[user_id]

    def deliver(self, user_id: int, message: dict[str, Any]) -> None:
        """Hand a message to this server's subscribers of `user_id`."""
        queues = self._subscribers.get(user_id)
        if not queues:
            return
        if message.get("type") not in ("resync", "bye") and not isinstance(message, Message):
            message = Message(message)
        for queue in list(queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self._overflow(user_id, queue)

    def _overflow(self, user_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        # A stalled browser: drop its backlog and tell it to fetch the journal afresh. One that
        # has not even taken that resync since is gone or hopelessly slow (a dead connection
        # stays open until TCP gives up): it gets nothing more, and ends once it reads again;
        # a browser that does come back reconnects and starts with a fresh snapshot.
        dead = queue.get_nowait() is RESYNC
        while not queue.empty():
            queue.get_nowait()
        if dead:
            self._subscribers[user_id].discard(queue)
            self.dropped += 1
            queue.put_nowait(BYE)
        else:
            queue.put_nowait(RESYNC)

    def resync_all(self) -> None:
        """Every local stream fetches its journal afresh (after updates may have been missed)."""
        for user_id in list(self._subscribers):
            self.deliver(user_id, RESYNC)

    def goodbye(self) -> None:
        """The server is stopping: end every live stream now instead of when it times out."""
        for user_id in list(self._subscribers):
            self.deliver(user_id, BYE)

    async def publish(self, user_id: int, message: dict[str, Any]) -> None:
        await self.publish_many([(user_id, message)])

    async def publish_many(self, messages: list[tuple[int, dict[str, Any]]]) -> None:
        """Updates for several users at once: local streams get them now, the other servers in
        one Redis message."""
        for user_id, message in messages:
            self.deliver(user_id, message)
        if self._outbox is None or not messages:
            return
        try:
            self._outbox.put_nowait(messages)
        except asyncio.QueueFull:
            self._unsent.update(user_id for user_id, _ in messages)

    async def connect_redis(self, url: str) -> None:
        """Share updates with other servers through Redis at `url`, now or once it is reachable."""
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(
            url, socket_timeout=COMMAND_TIMEOUT, socket_connect_timeout=COMMAND_TIMEOUT
        )
        self._outbox = asyncio.Queue(OUTBOX_SIZE)
        self._tasks = [
            asyncio.create_task(self._listen(), name="journal-hub-listen"),
            asyncio.create_task(self._send(), name="journal-hub-send"),
        ]

    def _seen(self, reachable: bool, error: BaseException | None = None) -> None:
        # Logged on a change only: an outage is one line, not one per attempt.
        if reachable == self._reachable:
            return
        if reachable:
            log.info("Redis reached: journal updates are shared with the other servers")
        elif self._reachable is None:
            log.warning(
                "Redis is not reachable (%s): this server starts anyway and its browsers see "
                "only its own updates until Redis answers",
                error,
            )
        else:
            log.warning(
                "lost Redis (%s): journal updates stay on this server until it is back, "
                "then every browser gets a fresh journal",
                error,
            )
        self._reachable = reachable

    async def _listen(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._seen(False, exc)
                log.debug("Redis subscription failed, retrying in %.2f s: %s", self._retry, exc)
                await asyncio.sleep(self._retry)
                self._retry = min(self._retry * 2, RETRY_MAX)

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            heard = loop.time()
            while True:
                raw = await pubsub.get_message(timeout=PING_EVERY)
                now = loop.time()
                if raw is None:
                    if now - heard > SILENT_LIMIT:
                        raise ConnectionError(f"Redis has not answered for {SILENT_LIMIT:.0f} s")
                    await pubsub.ping()
                    continue
                heard = now
                kind = raw.get("type")
                if kind == "message":
                    self._from_redis(raw["data"])
                elif kind == "subscribe":
                    # Redis confirms the subscription (also after redis-py reconnected on its
                    # own): from here on every update reaches us, so a snapshot taken now is
                    # complete. Whatever was published before may have been missed.
                    self._seen(True)
                    self._retry = RETRY_FIRST
                    self.resyncs += 1
                    self.resync_all()
                    self._answering.set()
                    self._owe_resyncs()

    def _owe_resyncs(self) -> None:
        # Nudge the sender: resyncs still owed to the others go out now that Redis answers.
        if self._unsent and self._outbox is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._outbox.put_nowait(None)

    async def _send(self) -> None:
        assert self._outbox is not None
        outbox = self._outbox
        delay = RETRY_FIRST
        while True:
            item = await outbox.get()
            try:
                if self._unsent:
                    owed = sorted(self._unsent)
                    await self._publish([(user_id, RESYNC) for user_id in owed])
                    self._unsent.difference_update(owed)
                if item:
                    await self._publish(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._seen(False, exc)
                if item:
                    self._unsent.update(user_id for user_id, _ in item)
                while not outbox.empty():  # nothing queued now would get through either
                    queued = outbox.get_nowait()
                    if queued:
                        self._unsent.update(user_id for user_id, _ in queued)
                self._answering.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._answering.wait(), delay)
                delay = min(delay * 2, RETRY_MAX)
                self._owe_resyncs()
            else:
                if delay > RETRY_FIRST:
                    self._seen(True)
                delay = RETRY_FIRST

    async def _publish(self, messages: list[tuple[int, dict[str, Any]]]) -> None:
        batch = [[user_id, message] for user_id, message in messages]
        payload = json.dumps({"server": self.server_id, "batch": batch})
        await self._redis.publish(CHANNEL, payload)

    def _from_redis(self, data: bytes | str) -> None:
        try:
            envelope = json.loads(data)
            if envelope["server"] == self.server_id:
                return
            # A server of the version before batches sends one update per message.
            batch = (
                envelope["batch"]
                if "batch" in envelope
                else [[envelope["user"], envelope["message"]]]
            )
            updates = [(int(user), message) for user, message in batch]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignored a malformed journal update from Redis: %s", exc)
            return
        for user_id, message in updates:
            if isinstance(message, dict) and isinstance(message.get("type"), str):
                self.deliver(user_id, message)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._redis is not None:
            await self._redis.aclose()
