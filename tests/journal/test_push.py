"""Live push: local fan-out, stalled browsers, and several servers through Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from offhook.journal import push as hub_module
from offhook.journal.push import QUEUE_SIZE, JournalHub

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
            message = {"type": "call", "entry": {"id": 1}}
            sent = 0
            for _ in range(100):  # the subscription needs a moment to be in place
                await first.publish(7, message)
                sent += 1
                try:
                    got = await asyncio.wait_for(queue.get(), 0.1)
                    break
                except TimeoutError:
                    continue
            else:
                pytest.fail("the update never reached the other server")
            assert got == message
            # The publishing server delivers locally once, not again through Redis.
            await asyncio.sleep(0.2)
            assert local.qsize() == sent
    finally:
        await first.close()
        await second.close()
