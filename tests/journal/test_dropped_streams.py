"""Slow and dead browsers (issue 13, deliverable 2): a stream that falls behind is told to
resync; one that has not even taken that resync when its queue fills again is dropped, and the
other streams of the same user get every update meanwhile."""

from __future__ import annotations

from offhook.journal.push import BYE, QUEUE_SIZE, RESYNC, JournalHub, event_text


async def test_a_stream_that_reads_nothing_is_dropped_and_the_others_get_everything() -> None:
    hub = JournalHub()
    async with hub.subscribe(1) as dead, hub.subscribe(1) as alive:
        received = []
        for n in range(2 * QUEUE_SIZE + 2):
            await hub.publish_many([(1, {"type": "call", "n": n})])
            received.append(alive.get_nowait())  # a browser that keeps up
        assert [message["n"] for message in received] == list(range(2 * QUEUE_SIZE + 2))
        assert hub.dropped == 1
        # The dead one ends once it reads again; nothing more is queued for it.
        assert dead.qsize() == 1 and dead.get_nowait() is BYE
        await hub.publish(1, {"type": "call", "n": -1})
        assert dead.empty()
        assert hub.subscriber_count == 1


async def test_a_stream_that_fell_behind_once_is_resynced_not_dropped() -> None:
    hub = JournalHub()
    async with hub.subscribe(1) as slow:
        for n in range(QUEUE_SIZE + 1):
            await hub.publish(1, {"type": "call", "n": n})
        assert slow.get_nowait() is RESYNC  # it reads again: a fresh snapshot, then updates
        for n in range(QUEUE_SIZE):
            await hub.publish(1, {"type": "call", "n": n})
        assert hub.dropped == 0 and hub.subscriber_count == 1


def test_an_update_is_encoded_once_for_every_stream() -> None:
    message = {"type": "call", "entry": {"id": 1, "remote_name": "<b>Müller</b>\n"}}
    text = event_text(message)
    assert text.startswith("event: call\ndata: {") and text.endswith("}\n\n")
    assert text.count("\n") == 3  # a newline in a value cannot end the event early
