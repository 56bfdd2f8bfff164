"""The simulated phone system through the test kit a third-party driver author gets
(`offhook.drivers.testing`): extensions, a ring group, answering on one line."""

from __future__ import annotations

import pytest

from offhook.drivers import CallState, DialRequest, DriverError, LineState
from offhook.drivers.simulator import SimulatorDriver
from offhook.drivers.testing import RecordingContext


@pytest.fixture
async def pbx() -> tuple[SimulatorDriver, RecordingContext]:
    context = RecordingContext(
        options={"ring_groups": {"600": ["201", "202"]}, "answer_after": 0},
        lines={1: "201", 2: "202", 3: "203"},
    )
    driver = SimulatorDriver(context)
    await driver.start()
    return driver, context


async def test_a_ring_group_rings_its_members_with_one_call_reference(
    pbx: tuple[SimulatorDriver, RecordingContext],
) -> None:
    driver, context = pbx
    assert context.state is LineState.CONNECTED
    assert driver.lines_for("600") == [1, 2]
    assert driver.lines_for("203") == [3]
    assert driver.lines_for("999") == []
    ref = driver.ring("+41446681812", "Anna Müller", driver.lines_for("600"))
    assert list(context.calls) == [ref]
    assert context.calls[ref].legs == {1: CallState.RINGING, 2: CallState.RINGING}

    await driver.answer(2, ref)
    answered = await context.call(CallState.CONNECTED, line_id=2)
    assert answered.call_ref == ref
    # The other leg is left to the core, which ends it as answered elsewhere.
    assert context.calls[ref].legs[1] is CallState.RINGING
    with pytest.raises(DriverError):
        await driver.answer(1, ref)
    await driver.hangup(2, ref)
    await context.call(CallState.ENDED, line_id=2)
    await driver.stop()


async def test_rejecting_on_one_member_leaves_the_others_ringing(
    pbx: tuple[SimulatorDriver, RecordingContext],
) -> None:
    driver, context = pbx
    ref = driver.ring("+41446681812", lines=[1, 2])
    await driver.hangup(1, ref)
    assert context.calls[ref].legs == {1: CallState.ENDED, 2: CallState.RINGING}
    assert context.calls[ref].state is CallState.RINGING
    driver.end(ref)
    assert context.calls[ref].state is CallState.ENDED
    assert ref not in driver.calls
    await driver.stop()


async def test_a_dialled_call_is_answered_by_the_far_end(
    pbx: tuple[SimulatorDriver, RecordingContext],
) -> None:
    driver, context = pbx
    await driver.dial(3, DialRequest("d-1", "+41446681812", "0446681812"))
    dialling = await context.call(CallState.DIALLING, line_id=3)
    assert dialling.dial_ref == "d-1"
    await context.call(CallState.CONNECTED, line_id=3)
    await driver.stop()


def test_ring_groups_must_name_extensions() -> None:
    with pytest.raises(ValueError, match="ring group"):
        SimulatorDriver.Options.model_validate({"ring_groups": {"600": []}})
