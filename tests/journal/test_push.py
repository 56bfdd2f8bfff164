"""Live push: local fan-out, stalled browsers, and several servers through Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from offhook.journal import push as hub_module
from offhook.journal.push import QUEUE_SIZE, RESYNC, JournalHub
from tests.redisserver import RedisServer, redis_server

REDIS = "redis://127.0.0.1:6379/0"


async def test_updates_reach_only_the_users_own_streams() -> None:
    hub = JournalHub()
    async with hub.subscribe(1) as anna, hub.subscribe(2) as ben:
        await hub.publish(1, {"type": "call", "n": 1})
        assert anna.get_nowait() == {"type": "call", "n": 1}
        assert ben.empty()
    assert hub.subscriber_count == 0


async def test_a_stalled_stream_is_told_to_resync_instead_of_growing() -> None:
    hub = JournalHub()
    async with hub.subscribe(1) as queue:
        for n in range(QUEUE_SIZE + 5):
            await hub.publish(1, {"type": "call", "n": n})
        assert queue.qsize() <= QUEUE_SIZE
        messages = [queue.get_nowait() for _ in range(queue.qsize())]
        assert {"type": "resync"} in messages


async def next_update(
    queue: asyncio.Queue[dict[str, Any]], timeout: float = 10.0
) -> dict[str, Any]:
    """The next message that is not a resync."""
    async with asyncio.timeout(timeout):
        while True:
            message = await queue.get()
            if message != RESYNC:
                return message


async def until(check: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def resync_reaches(queue: asyncio.Queue[dict[str, Any]], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while await queue.get() != RESYNC:
            pass


def drain(queue: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    return [queue.get_nowait() for _ in range(queue.qsize())]


async def test_several_servers_share_updates_through_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    # A channel of this test's own, so parallel runs on one Redis do not meet.
    monkeypatch.setattr(hub_module, "CHANNEL", f"offhook:test:{uuid.uuid4().hex}")
    try:
        probe = aioredis.from_url(REDIS)
        await probe.ping()
        await probe.aclose()
    except Exception as exc:
        pytest.fail(f"Redis is not reachable at {REDIS}: {exc}")
    first, second = JournalHub(), JournalHub()
    await first.connect_redis(REDIS)
    await second.connect_redis(REDIS)
    try:
        async with second.subscribe(7) as queue, first.subscribe(7) as local:
            await until(lambda: first.resyncs and second.resyncs, "both subscriptions")
            message = {"type": "call", "entry": {"id": 1}}
            await first.publish(7, message)
            assert await next_update(queue) == message
            # The publishing server delivers locally once, not again through Redis.
            await asyncio.sleep(0.2)
            assert [m for m in drain(local) if m != RESYNC] == [message]
    finally:
        await first.close()
        await second.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


async def test_an_outage_ends_with_a_resync_on_every_server(own_redis: RedisServer) -> None:
    first, second = JournalHub(), JournalHub()
    await first.connect_redis(own_redis.url)
    await second.connect_redis(own_redis.url)
    try:
        async with first.subscribe(7) as local, second.subscribe(7) as remote:
            await until(lambda: first.resyncs and second.resyncs, "both subscriptions")
            drain(local), drain(remote)
            await asyncio.to_thread(own_redis.stop)
            for n in range(20):
                await first.publish(7, {"type": "call", "n": n})
            # Local streams lose nothing while Redis is away.
            assert [m["n"] for m in drain(local) if m != RESYNC] == list(range(20))
            await asyncio.to_thread(own_redis.start)
            # The other server missed the updates: its streams are told to fetch a snapshot.
            await resync_reaches(remote)
            # And the fan-out works again.
            await until(lambda: first.resyncs >= 2, "the first server to subscribe again")
            await first.publish(7, {"type": "call", "n": 99})
            assert await next_update(remote) == {"type": "call", "n": 99}
    finally:
        await first.close()
        await second.close()


async def test_updates_that_could_not_leave_resync_the_other_servers(
    own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The subscription of the other server never breaks (a short pause), but the updates of the
    # publishing one time out: the other server must still hear that it missed something.
    monkeypatch.setattr(hub_module, "COMMAND_TIMEOUT", 0.5)
    first, second = JournalHub(), JournalHub()
    await first.connect_redis(own_redis.url)
    await second.connect_redis(own_redis.url)
    try:
        async with second.subscribe(7) as remote:
            await until(lambda: first.resyncs and second.resyncs, "both subscriptions")
            drain(remote)
            paused = asyncio.create_task(asyncio.to_thread(own_redis.pause, 2.0))
            await asyncio.sleep(0.2)  # let the pause begin; the updates below meet it
            for n in range(5):
                await first.publish(7, {"type": "call", "n": n})
            await paused
            await resync_reaches(remote)
    finally:
        await first.close()
        await second.close()


async def test_a_killed_subscription_resyncs_local_streams(own_redis: RedisServer) -> None:
    hub = JournalHub()
    await hub.connect_redis(own_redis.url)
    try:
        async with hub.subscribe(7) as queue:
            await until(lambda: hub.resyncs == 1, "the subscription")
            drain(queue)
            assert await asyncio.to_thread(own_redis.kill_subscribers) == 1
            await resync_reaches(queue)
            assert hub.resyncs == 2
    finally:
        await hub.close()


async def test_a_hub_starts_without_redis_and_joins_when_it_comes(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    await asyncio.to_thread(own_redis.stop)
    first, second = JournalHub(), JournalHub()
    await first.connect_redis(own_redis.url)  # does not fail, nor wait for Redis
    await second.connect_redis(own_redis.url)
    try:
        async with second.subscribe(7) as remote:
            await first.publish(7, {"type": "call", "n": 0})
            await asyncio.sleep(1.5)  # several attempts to reach Redis
            await asyncio.to_thread(own_redis.start)
            await resync_reaches(remote)
            await until(lambda: first.resyncs and second.resyncs, "both subscriptions")
            await first.publish(7, {"type": "call", "n": 1})
            assert await next_update(remote) == {"type": "call", "n": 1}
    finally:
        await first.close()
        await second.close()
    # One line per server for the outage, not one per attempt.
    unreachable = [r for r in caplog.records if "not reachable" in r.getMessage()]
    assert len(unreachable) == 2
