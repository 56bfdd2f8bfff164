"""The webhook drivers' shared kit on its own: finding lines by name and number, the tracker
through the driver test kit (`RecordingContext`), the replay guard and the bounded body."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from offhook.drivers import CallState, Direction, EndReason
from offhook.drivers.testing import RecordingContext
from offhook.drivers.webhooks import Ending, Push, PushKind, Refused
from offhook.drivers.webhooks.body import MAX_BODY, parse_form, parse_json, read_bounded
from offhook.drivers.webhooks.lines import LineMap, number_key, same_number
from offhook.drivers.webhooks.push import cause_ending
from offhook.drivers.webhooks.replay import ReplayGuard
from offhook.drivers.webhooks.tracker import CallTracker
from offhook.web.server import HookTokens


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("+49 30 600000000", "4930600000000", True),
        ("+49 30 600000000", "030 600000000", True),
        ("0049 30 600000000", "030600000000", True),
        ("030600000000", "030600000000", True),
        ("+41 44 668 18 12", "030600000000", False),
        ("201", "+41 44 201", False),  # an extension never matches a number's end
        ("0201", "+41 44 201", False),
    ],
)
def test_numbers_are_compared_by_their_digits(a: str, b: str, same: bool) -> None:
    key_a, key_b = number_key(a), number_key(b)
    assert key_a is not None and key_b is not None
    assert same_number(key_a, key_b) is same


def test_no_number_is_read_from_names() -> None:
    assert number_key("Anna Müller") is None
    assert number_key("anonymous") is None
    assert number_key("7777abcdefg@fpbx.de") is None


def _context() -> RecordingContext:
    return RecordingContext(
        lines={1: "w0", 2: "w1", 3: "Emma Taylor"},
        line_options={
            1: {"numbers": ["+49 30 600000000"]},
            2: {"numbers": ["030 600000000"]},
            3: {"aliases": ["emma@example.com"]},
        },
    )


def test_lines_by_name_alias_and_shared_number() -> None:
    lines = LineMap(_context().lines)
    assert lines.named("W0") == [1]
    assert lines.named("emma  taylor") == [3]
    assert lines.named("EMMA@example.com") == [3]
    assert lines.numbered("4930600000000") == [1, 2]
    assert lines.first_named(["1234567w9", "w9", "w1"]) == [2]
    assert lines.named("") == [] and lines.named("nobody") == []


def _tracker() -> tuple[CallTracker, RecordingContext]:
    context = _context()
    return CallTracker(context, cause_ending), context


def new(call_id: str, *users: str, direction: Direction = Direction.INCOMING) -> Push:
    return Push(
        PushKind.NEW,
        call_id,
        direction,
        caller="+41446681812",
        called="+4930600000000",
        users=tuple((u,) for u in users),
    )


def test_a_ring_group_is_answered_on_one_line_and_left_to_the_core_on_the_others() -> None:
    tracker, context = _tracker()
    tracker.apply(new("g-1", "w0", "Emma Taylor"))
    assert context.calls["g-1"].legs == {1: CallState.RINGING, 3: CallState.RINGING}
    tracker.apply(Push(PushKind.ANSWER, "g-1", answered_by=("emma@example.com",)))
    assert context.calls["g-1"].legs == {1: CallState.RINGING, 3: CallState.CONNECTED}
    tracker.apply(Push(PushKind.HANGUP, "g-1", cause="normalClearing"))
    assert context.calls["g-1"].legs == {1: CallState.ENDED, 3: CallState.ENDED}
    ended = [e for e in context.events if e.state is CallState.ENDED]
    assert {e.line_id: e.end_reason for e in ended} == {1: None, 3: None}


def test_no_user_named_rings_the_number_and_answered_by_a_stranger_is_elsewhere() -> None:
    tracker, context = _tracker()
    tracker.apply(new("n-1"))  # names nobody: the lines of the number called
    assert set(context.calls["n-1"].legs) == {1, 2}
    assert "without a line" in tracker.apply(Push(PushKind.ANSWER, "n-1", answered_by=("w7",)))
    tracker.apply(Push(PushKind.HANGUP, "n-1", cause="normalClearing"))
    reasons = {e.line_id: e.end_reason for e in context.events if e.state is CallState.ENDED}
    assert reasons == {1: EndReason.ANSWERED_ELSEWHERE, 2: EndReason.ANSWERED_ELSEWHERE}


def test_pushes_it_cannot_place_change_nothing() -> None:
    tracker, context = _tracker()
    tracker.apply(Push(PushKind.HANGUP, "x-1", cause="cancel"))  # no direction known
    tracker.apply(Push(PushKind.ANSWER, "x-2", Direction.OUTGOING, caller="+4122"))
    tracker.apply(new("x-3", "w9"))  # a user without a line, to a number... of lines 1 and 2
    assert context.events and {e.call_ref for e in context.events} == {"x-3"}
    tracker.lines_changed()


def test_a_dial_is_adopted_by_number_once() -> None:
    now = [0.0]
    context = _context()
    tracker = CallTracker(context, cause_ending, clock=lambda: now[0])
    tracker.expect_dial(1, "+41 44 668 18 12", "ref-1")
    out = Push(
        PushKind.NEW,
        "o-1",
        Direction.OUTGOING,
        caller="+4930600000000",
        called="0041446681812",
        users=(("w0",),),
    )
    tracker.apply(out)
    assert context.calls["o-1"].dial_ref == "ref-1"
    tracker.apply(
        Push(PushKind.NEW, "o-2", Direction.OUTGOING, called="0041446681812", users=(("w0",),))
    )
    assert context.calls["o-2"].dial_ref is None  # taken by the first call
    tracker.expect_dial(1, "+41 44 668 18 12", "ref-2")
    now[0] = 1000.0  # long past: no push came for it
    tracker.apply(
        Push(PushKind.NEW, "o-3", Direction.OUTGOING, called="0041446681812", users=(("w0",),))
    )
    assert context.calls["o-3"].dial_ref is None


def test_the_causes() -> None:
    assert cause_ending("busy", Direction.OUTGOING) == Ending(EndReason.BUSY)
    assert cause_ending("busy", Direction.INCOMING) == Ending()
    assert cause_ending("forwarded", Direction.INCOMING).forwarded
    assert cause_ending("something new", Direction.INCOMING) == Ending()


def test_the_replay_guard_forgets_after_its_window_and_past_its_capacity() -> None:
    now = [0.0]
    guard = ReplayGuard(window=60, capacity=3, clock=lambda: now[0])
    assert guard.first_time(b"a") and not guard.first_time(b"a")
    now[0] = 61
    assert guard.first_time(b"a")
    for key in (b"b", b"c", b"d"):
        assert guard.first_time(key)
    assert guard.first_time(b"a")  # forgotten: the oldest went when the guard was full


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_a_body_is_bounded_as_announced_and_as_it_arrives() -> None:
    assert await read_bounded("5", _chunks(b"ab", b"cde")) == b"abcde"
    with pytest.raises(Refused) as announced:
        await read_bounded(str(MAX_BODY + 1), _chunks(b""))
    assert announced.value.status == 413
    with pytest.raises(Refused) as chunked:
        await read_bounded(None, _chunks(*[b"x" * 4096] * 5))
    assert chunked.value.status == 413
    with pytest.raises(Refused):
        await read_bounded("12a", _chunks(b""))


def test_forms_and_json_are_read_with_bounds() -> None:
    assert parse_form(b"user[]=a&user[]=b&x=") == {"user": ["a", "b"], "x": [""]}
    assert parse_json(b'{"user": ["a", "b"], "n": 1, "ok": true, "none": null}') == {
        "user": ["a", "b"],
        "n": ["1"],
        "ok": ["true"],
        "none": [""],
    }
    for bad in (b"k=" + b"v" * 2000, b"&".join(b"a=1" for _ in range(150))):
        with pytest.raises(Refused):
            parse_form(bad)


def test_an_outgoing_call_is_connected_on_its_own_line_whoever_answers() -> None:
    tracker, context = _tracker()
    tracker.apply(new("o-9", "w0", direction=Direction.OUTGOING))
    # The far end's number happens to be a colleague's: still Anna's call that connected.
    tracker.apply(Push(PushKind.ANSWER, "o-9", answered_by=("030600000000",)))
    assert context.calls["o-9"].legs == {1: CallState.CONNECTED}


def test_the_access_log_keeps_no_webhook_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "POST", "/drivers/sipgate/hooks/s3cr3t-T0ken?x=1", "1.1", 200),
        None,
    )
    assert HookTokens().filter(record)
    assert "s3cr3t" not in record.getMessage()
    assert "/drivers/sipgate/hooks/…?x=1" in record.getMessage()


def test_an_internal_call_is_dialled_on_one_line_and_rings_on_the_other() -> None:
    """One call id, pushed once as the caller's outgoing call and once as the callee's
    incoming one, in either order."""
    for order in (
        (Direction.OUTGOING, Direction.INCOMING),
        (Direction.INCOMING, Direction.OUTGOING),
    ):
        tracker, context = _tracker()
        pushes = {
            Direction.OUTGOING: Push(
                PushKind.NEW,
                "i-1",
                Direction.OUTGOING,
                "+4930600000001",
                "+4930600000002",
                users=(("w0",),),
            ),
            Direction.INCOMING: Push(
                PushKind.NEW,
                "i-1",
                Direction.INCOMING,
                "+4930600000001",
                "+4930600000002",
                users=(("w1",),),
            ),
        }
        for direction in order:
            tracker.apply(pushes[direction])
        tracker.apply(Push(PushKind.ANSWER, "i-1", answered_by=("w1",)))
        tracker.apply(Push(PushKind.HANGUP, "i-1", cause="normalClearing"))
        legs = {e.line_id: (e.direction, e.remote_number) for e in context.events}
        assert legs == {
            1: (Direction.OUTGOING, "+4930600000002"),
            2: (Direction.INCOMING, "+4930600000001"),
        }
        connected = {e.line_id for e in context.events if e.state is CallState.CONNECTED}
        assert connected == {1, 2}
