"""Recording calls: call events in, persisted calls out, in the caller's transaction (one event,
or a batch of them: see `record_many`)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from offhook.calls.events import (
    DIGEST_PREFIX,
    CallEvent,
    CallState,
    Direction,
    EndReason,
    HangupSide,
    stored_ref,
)
from offhook.calls.machine import CallFacts, apply, begin
from offhook.calls.missed import Reached, close_reached, reached
from offhook.directory.lookup import find_caller, read_incoming
from offhook.settings.telephony import SettingsCache
from offhook.store.models import Call, CallEventRecord, Line
from offhook.store.types import utcnow

log = logging.getLogger(__name__)

OPEN_STATES = (CallState.RINGING.value, CallState.DIALLING.value, CallState.CONNECTED.value)


class UnknownLine(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class CallChange:
    """What recording an event did, for whoever shows calls (the journal)."""

    call_id: int
    line_id: int
    user_id: int
    created: bool
    changed: bool
    #: Calls on other lines that this event changed too, as (call id, user id): the same call
    #: ringing there (a ring group), now answered on this line.
    siblings: tuple[tuple[int, int], ...] = ()


def facts_of(call: Call) -> CallFacts:
    return CallFacts(
        direction=Direction(call.direction),
        state=CallState(call.state),
        started_at=call.started_at,
        connected_at=call.connected_at,
        ended_at=call.ended_at,
        end_reason=EndReason(call.end_reason) if call.end_reason else None,
        end_reason_given=call.end_reason_given,
        hangup_by=HangupSide(call.hangup_by) if call.hangup_by else None,
        remote_number=call.remote_number,
        remote_name=call.remote_name,
    )


def _open_missed(call: Call) -> bool:
    """The call is missed and waits for a call back (what `missed.is_open_missed` selects)."""
    return (
        call.direction == Direction.INCOMING.value
        and call.end_reason == EndReason.MISSED.value
        and call.missed_closed_at is None
    )


def _store_facts(call: Call, facts: CallFacts) -> None:
    call.direction = facts.direction.value
    call.state = facts.state.value
    call.started_at = facts.started_at
    call.connected_at = facts.connected_at
    call.ended_at = facts.ended_at
    call.end_reason = facts.end_reason.value if facts.end_reason else None
    call.end_reason_given = facts.end_reason_given
    call.hangup_by = facts.hangup_by.value if facts.hangup_by else None
    call.remote_number = facts.remote_number[:300]
    call.remote_name = facts.remote_name[:300]
    call.updated_at = utcnow()


def identify(session: Session, call: Call) -> None:
    """Normalize the remote number and find who it belongs to (unless the user chose)."""
    settings = SettingsCache.get(session)
    if call.address_chosen:
        parsed = read_incoming(call.remote_number, settings)
        call.remote_e164, call.remote_kind = parsed.e164, parsed.kind.value
        return
    parsed, matches = find_caller(session, call.remote_number, settings)
    call.remote_e164, call.remote_kind = parsed.e164, parsed.kind.value
    call.match_count = len(matches)
    best = matches[0] if matches else None
    call.address_id = best.address_id if best else None
    call.channel_id = best.channel_id if best else None
    call.colleague_id = best.user_id if best else None
    call.match = best.match if best else None


def record(session: Session, event: CallEvent) -> CallChange:
    """Apply one call event to the store (inside the caller's transaction)."""
    return record_many(session, [event])[0]


def record_many(session: Session, events: Sequence[CallEvent]) -> list[CallChange]:
    """Apply call events to the store in their order, inside the caller's transaction.

    One event at a time would cost a few round trips each (its line, its call, the flush of
    the call and of its record). A batch reads its lines and the calls it may touch in two
    queries, keeps them at hand while the events apply one after the other (so each sees the
    ones before it, as if they had been recorded alone), and writes everything in one flush.
    Raises `UnknownLine` for an event of a line that does not exist; the caller rolls back.
    """
    batch = _Batch(session, events)
    for event in events:
        batch.apply(event)
    return batch.finish()


@dataclass(slots=True)
class _Applied:
    call: Call
    line: Line
    created: bool
    changed: bool
    siblings: list[Call]
    closed: tuple[tuple[int, int], ...]  # missed calls from the number, closed as it was reached
    record: dict[str, Any]


class _Batch:
    def __init__(self, session: Session, events: Sequence[CallEvent]) -> None:
        self.session = session
        line_ids = {event.line_id for event in events}
        # Held here: the session's identity map keeps only weak references.
        self.lines = {
            line.id: line for line in session.scalars(select(Line).where(Line.id.in_(line_ids)))
        }
        refs = {stored_ref(event.call_ref) for event in events}
        dial_refs = {event.dial_ref for event in events if event.dial_ref}
        known = select(Call).where(
            or_(Call.call_ref.in_(refs), Call.dial_ref.in_(dial_refs))
            if dial_refs
            else Call.call_ref.in_(refs)
        )
        self.calls: dict[tuple[int, str], Call] = {}
        self.dialled: dict[tuple[int, str], Call] = {}
        # The lines each reference is on: a call's siblings (the same call ringing on other
        # lines) are searched for only where there can be any.
        self.ref_lines: dict[str, set[int]] = defaultdict(set)
        for call in session.scalars(known):
            self._keep(call)
        for event in events:
            self.ref_lines[stored_ref(event.call_ref)].add(event.line_id)
        self.applied: list[_Applied] = []
        # Calls connected in this batch, and where in it calls became missed (see `finish`).
        self.reached: list[Reached] = []
        self.missed_at: dict[int, int] = {}

    def _keep(self, call: Call) -> None:
        self.calls[(call.line_id, call.call_ref)] = call
        if call.dial_ref:
            self.dialled[(call.line_id, call.dial_ref)] = call
        self.ref_lines[call.call_ref].add(call.line_id)

    def _find(self, event: CallEvent) -> Call | None:
        ref = stored_ref(event.call_ref)
        call = self.calls.get((event.line_id, ref))
        if call is None and event.dial_ref:
            # The first event of a call offhook dialled: adopt the phone system's reference.
            call = self.dialled.get((event.line_id, event.dial_ref))
            if call is not None:
                call.call_ref = ref
                self._keep(call)
        return call

    def apply(self, event: CallEvent) -> None:
        line = self.lines.get(event.line_id)
        if line is None:
            raise UnknownLine(f"there is no line {event.line_id}")
        call = self._find(event)
        created = call is None
        if call is None:
            facts = begin(event)
            call = Call(
                line_id=line.id, call_ref=stored_ref(event.call_ref), dial_ref=event.dial_ref
            )
            _store_facts(call, facts)
            identify(self.session, call)
            self.session.add(call)
            self._keep(call)
            changed = True
        else:
            facts = facts_of(call)
            number_before = facts.remote_number
            changed = apply(facts, event)
            if changed:
                _store_facts(call, facts)
                # A first number, or another party after a transfer or pickup: who is it?
                if facts.remote_number and facts.remote_number != number_before:
                    identify(self.session, call)
        siblings: list[Call] = []
        if (
            changed
            and call.connected_at is not None
            and call.direction == Direction.INCOMING.value
            and len(self.ref_lines[call.call_ref]) > 1
        ):
            siblings = _answered_here(self.session, call, line)
        record = {
            "state": event.state.value,
            "at": event.at,
            "changed": changed,
            "detail": {
                "call_ref": event.call_ref,
                "end_reason": event.end_reason.value if event.end_reason else None,
                "hangup_by": event.hangup_by.value if event.hangup_by else None,
                "dial_ref": event.dial_ref,
            },
        }
        index = len(self.applied)
        if changed and call.state == CallState.CONNECTED.value:
            # The caller was reached: their missed calls need no call back any more. Closed
            # for the whole batch at once, in `finish`, as each connect would have.
            reach = reached(call, index)
            if reach is not None:
                self.reached.append(reach)
        elif changed and id(call) not in self.missed_at and _open_missed(call):
            self.missed_at[id(call)] = index
        self.applied.append(_Applied(call, line, created, changed, siblings, (), record))

    def finish(self) -> list[CallChange]:
        """Write the calls, then their event records (which need the calls' ids)."""
        self.session.flush()
        for index, closed in close_reached(self.session, self.reached, self.missed_at).items():
            self.applied[index].closed = closed
        self.session.add_all([CallEventRecord(call_id=a.call.id, **a.record) for a in self.applied])
        self.session.flush()
        return [
            CallChange(
                a.call.id,
                a.line.id,
                a.line.user_id,
                a.created,
                a.changed,
                tuple((other.id, other.line.user_id) for other in a.siblings) + a.closed,
            )
            for a in self.applied
        ]


# A sibling leg the phone system ended as missed this long before the answer was reported is
# still the same moment: PBXs end the other legs and report the answer in either order.
_SAME_MOMENT = timedelta(seconds=2)


def _answered_here(session: Session, call: Call, line: Line) -> list[Call]:
    """End the same call on the other lines of the phone system as answered elsewhere."""
    assert call.connected_at is not None
    others = session.scalars(
        select(Call)
        .join(Line, Call.line_id == Line.id)
        .where(
            Call.call_ref == call.call_ref,
            Call.line_id != line.id,
            Line.phone_system_id == line.phone_system_id,
            Call.direction == Direction.INCOMING.value,
            Call.connected_at.is_(None),
        )
    ).all()
    changed = []
    for other in others:
        if other.state == CallState.ENDED.value:
            late = other.ended_at is not None and other.ended_at < call.connected_at - _SAME_MOMENT
            if late or other.end_reason != EndReason.MISSED.value:
                continue
        else:
            facts = facts_of(other)
            apply(
                facts,
                CallEvent(
                    line_id=other.line_id,
                    call_ref=other.call_ref,
                    direction=Direction.INCOMING,
                    state=CallState.ENDED,
                    at=max(call.connected_at, facts.started_at),
                ),
            )
            _store_facts(other, facts)
        other.end_reason = EndReason.ANSWERED_ELSEWHERE.value
        other.end_reason_given = True
        other.answered_by_id = line.user_id
        changed.append(other)
    return changed


def driver_ref(session: Session, call: Call) -> str:
    """The call's reference as its driver knows it, for asking the driver to act on the call.

    Usually the stored one; a long reference is stored as its digest (`stored_ref`), and every
    event record keeps the reference as the driver sent it.
    """
    if not call.call_ref.startswith(DIGEST_PREFIX):
        return call.call_ref
    details = session.scalars(
        select(CallEventRecord.detail)
        .where(CallEventRecord.call_id == call.id)
        .order_by(CallEventRecord.id.desc())
    )
    for detail in details:
        ref = detail.get("call_ref") if isinstance(detail, dict) else None
        if isinstance(ref, str) and stored_ref(ref) == call.call_ref:
            return ref
    return call.call_ref


def open_calls(session: Session, line_id: int) -> list[Call]:
    return list(
        session.scalars(select(Call).where(Call.line_id == line_id, Call.state.in_(OPEN_STATES)))
    )


def end_call(call: Call, at: datetime, why: str) -> None:
    """End a call the phone system can no longer tell us about; the reason is inferred."""
    facts = facts_of(call)
    ended = CallEvent(
        line_id=call.line_id,
        call_ref=call.call_ref,
        direction=facts.direction,
        state=CallState.ENDED,
        at=max(at, facts.connected_at or facts.started_at),
    )
    if apply(facts, ended):
        _store_facts(call, facts)
        call.ended_by_offhook = why[:200]


def reconcile(
    session: Session,
    line_id: int,
    live_call_refs: Collection[str],
    at: datetime | None = None,
    reason: str = "",
) -> list[int]:
    """End every open call on the line that the phone system no longer has; their ids."""
    ended = reconcile_lines(session, [line_id], live_call_refs, at, reason)
    return [call_id for call_id, _line_id in ended]


#: Lines whose open calls are read in one query by `reconcile_lines`.
RECONCILE_CHUNK = 500


def reconcile_lines(
    session: Session,
    line_ids: Collection[int],
    live_call_refs: Collection[str],
    at: datetime | None = None,
    reason: str = "",
) -> list[tuple[int, int]]:
    """`reconcile` for many lines (a phone system of two thousand starting): their open calls
    read in a few queries, not one per line. The calls ended, as (call id, line id)."""
    ended: list[tuple[int, int]] = []
    why = reason or "ended while the line was not connected"
    live = {stored_ref(ref) for ref in live_call_refs}
    ordered = sorted(set(line_ids))
    for start in range(0, len(ordered), RECONCILE_CHUNK):
        chunk = ordered[start : start + RECONCILE_CHUNK]
        calls = session.scalars(
            select(Call)
            .where(Call.line_id.in_(chunk), Call.state.in_(OPEN_STATES))
            .order_by(Call.line_id, Call.id)
        )
        for call in calls:
            if call.call_ref not in live and not call.call_ref.startswith("dial:"):
                # `at` is the last moment the line was watched (the caller's best knowledge);
                # `end_call` keeps the end no earlier than the call's last state change.
                end_call(call, at or datetime.now(UTC), why)
                ended.append((call.id, call.line_id))
    return ended


def expire_ringing(session: Session, older_than: datetime) -> list[tuple[int, int]]:
    """End calls that rang (or dialled) without news since `older_than`: (call id, line id)."""
    stale = session.scalars(
        select(Call).where(
            Call.state.in_((CallState.RINGING.value, CallState.DIALLING.value)),
            Call.updated_at < older_than,
        )
    )
    ended = []
    for call in stale:
        end_call(call, call.updated_at, "no news from the phone system")
        ended.append((call.id, call.line_id))
    return ended


def expire_connected(session: Session, older_than: datetime, why: str) -> list[tuple[int, int]]:
    """End connected calls without news since `older_than` (their line stopped reporting):
    as of their last news, the last moment they were known to exist. (call id, line id)."""
    stale = session.scalars(
        select(Call).where(Call.state == CallState.CONNECTED.value, Call.updated_at < older_than)
    )
    ended = []
    for call in stale:
        end_call(call, call.updated_at, why)
        ended.append((call.id, call.line_id))
    return ended
