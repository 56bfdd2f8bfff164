"""The typed journal entry: built from a recorded call, and the same JSON `journal.js` reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from offhook.calls import labels
from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.calls.recorder import record
from offhook.crm.calls import outcome, summary
from offhook.drivers.contract import LineState
from offhook.journal import entries as journal
from offhook.journal.entry import CallChanged, JournalEntry, JournalSnapshot, LineStatus
from offhook.store import Store
from tests import factories

T0 = datetime(2026, 11, 26, 8, 41, tzinfo=UTC)


def answered_call(store: Store) -> JournalEntry:
    """Anna Müller calls, is answered and talks for 4:12."""
    _, line = factories.user_with_line(store)
    factories.address(store)
    events = [
        (CallState.RINGING, 0, None),
        (CallState.CONNECTED, 5, None),
        (CallState.ENDED, 257, EndReason.ANSWERED),
    ]
    for state, seconds, reason in events:
        with store.session() as session:
            at = T0 + timedelta(seconds=seconds)
            event = CallEvent(
                line.id, "c1", Direction.INCOMING, state, at, "+41446681812", "A M", reason
            )
            record(session, event)
    with store.session() as session:
        entry = journal.one(session, 1)
    assert entry is not None
    return entry


def test_an_entry_built_from_a_call_has_the_shape_the_browser_reads(store: Store) -> None:
    entry = answered_call(store)
    data = entry.model_dump(mode="json")
    assert data == {
        "id": 1,
        "line": {"id": entry.line.id, "title": "anna's phone"},
        "direction": "incoming",
        "state": "ended",
        "icon": "incoming",
        "icon_label": "Incoming call",
        "end_reason": "answered",
        "end_reason_label": "",
        "answered_by": None,
        "answer_note": None,
        "missed": False,
        "missed_open": False,
        "missed_closed": None,
        "started_at": "2026-11-26T08:41:00+00:00",
        "connected_at": "2026-11-26T08:41:05+00:00",
        "ended_at": "2026-11-26T08:45:17+00:00",
        "time": data["time"],
        "date": data["date"],
        "duration": 252,
        "number": {
            "raw": "+41446681812",
            "display": data["number"]["display"],
            "e164": "+41446681812",
            "kind": "external",
            "dial": data["number"]["dial"],
        },
        "remote_name": "A M",
        "address": {
            "id": entry.address.id if entry.address else 0,
            "name": "Anna Müller, Muster AG",
            "full_address": data["address"]["full_address"],
            "match": "exact",
            "chosen": False,
        },
        "colleague": None,
        "match_count": 1,
        "ended_by_offhook": None,
        "activity_id": None,
        "service_id": None,
        "not_billable": False,
        "can": {
            "dial": True,
            "tel": False,
            "answer": False,
            "hangup": False,
            "create_address": False,
            "choose_address": False,
            "activity": True,
            "service": True,
            "call_back": False,
            "mark_done": False,
        },
    }
    assert data["number"]["display"] and data["number"]["dial"]
    assert len(data["date"]) == 10 and len(data["time"]) == 5


def test_json_round_trip_is_identical(store: Store) -> None:
    entry = answered_call(store)
    wire = json.dumps(entry.model_dump(mode="json"))
    again = JournalEntry.model_validate_json(wire)
    assert again == entry
    assert json.dumps(again.model_dump(mode="json")) == wire


def test_a_line_status_travels_only_with_a_live_change(store: Store) -> None:
    entry = answered_call(store)
    snapshot = JournalSnapshot(entries=[entry], lines=[]).model_dump(mode="json")
    assert "status" not in snapshot["entries"][0]["line"]
    assert snapshot["type"] == "snapshot"
    entry.line.status = LineStatus(id=entry.line.id, state=LineState.CONNECTED)
    message = CallChanged(entry=entry).model_dump(mode="json")
    assert message["type"] == "call"
    assert message["entry"]["line"]["status"] == {
        "id": entry.line.id,
        "state": "connected",
        "reason": "",
        "reason_shown": "",
    }
    assert CallChanged.model_validate(message).entry == entry


def test_a_call_answered_elsewhere_says_by_whom(store: Store) -> None:
    entry = answered_call(store).model_copy(
        update={
            "end_reason": "answered_elsewhere",
            "end_reason_label": labels.end_reason_label("answered_elsewhere"),
            "answered_by": "Ben Meier",
            "duration": None,
        }
    )
    assert entry.end_reason_label == "Answered elsewhere"
    assert outcome(entry) == ("answered_elsewhere", "Answered elsewhere (by Ben Meier)")
    assert summary(entry).endswith(", answered elsewhere (by Ben Meier).")
    assert JournalEntry.model_validate_json(entry.model_dump_json()) == entry


def test_outcomes_and_labels_come_from_one_table() -> None:
    assert labels.outcome("ringing", None) == ("open", "Ringing")
    assert labels.outcome("ended", None) == ("answered", "Answered")
    assert labels.outcome("ended", "cancelled") == ("cancelled", "Not answered")
    assert labels.OUTCOME_LABELS["missed"] == labels.END_REASON_LABELS["missed"]
    assert labels.call_label("incoming") == labels.ICON_LABELS["incoming"]
