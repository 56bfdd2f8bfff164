"""The server's background runs: one at a time, once more after a change during a run."""

from __future__ import annotations

import asyncio

from offhook.directory.normalization import NormalizationRunner, stale_numbers_exist
from offhook.directory.normalization.job import _exclusive
from offhook.intake.synthetic import create_synthetic_crm
from offhook.store import Store
from tests import factories


async def _finished(runner: NormalizationRunner) -> None:
    for _ in range(400):
        if not runner.running:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the run did not end")


async def test_a_change_during_a_run_is_caught_up(store: Store) -> None:
    create_synthetic_crm(store, 300, seed=3, workers=0)
    runner = NormalizationRunner(store, workers=0)
    await runner.start()  # nothing stale: returns at once
    await _finished(runner)
    assert runner.progress is None

    await asyncio.to_thread(factories.telephony, store, area_code="44")
    assert runner.request() is True
    await asyncio.to_thread(factories.telephony, store, area_code="43")
    runner.request()  # during the run, or after it: either way the newest settings win
    await _finished(runner)
    assert not await asyncio.to_thread(stale_numbers_exist, store)
    await runner.stop()
    assert runner.request() is False  # stopped for good


async def test_waits_while_another_run_holds_the_database(store: Store) -> None:
    factories.address(store, numbers=(("phone", "668 18 12"),))
    await asyncio.to_thread(factories.telephony, store, area_code="44")
    runner = NormalizationRunner(store, workers=0)
    with _exclusive(store):
        await runner.start()
        await asyncio.sleep(0.3)
        assert runner.running and runner.progress is None  # waiting, not failing
    await runner.stop()  # ends the wait promptly
    assert not runner.running
