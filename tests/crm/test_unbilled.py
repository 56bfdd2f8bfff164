"""Unbilled calls and their figures on a synthetic call history, recounted here independently
from the store's rows in Python (local days by `zoneinfo`, not by the SQL under test)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from offhook.crm import call_figures as figures
from offhook.crm import unbilled
from offhook.crm.paging import PAGE_SIZE
from offhook.intake.synthetic import create_synthetic_crm
from offhook.intake.synthetic_calls import create_synthetic_calls
from offhook.journal import entries as journal
from offhook.settings.telephony import TelephonySettings
from offhook.store import Store, call_sums
from offhook.store.models import Address, Call, Line, NotBillable, Project, Service
from tests import factories

END = date(2026, 11, 20)  # a Friday; the period spans the change from summer time
FIRST = date(2026, 9, 14)


@dataclass
class World:
    store: Store
    settings: TelephonySettings
    calls: list[Call]
    owner: dict[int, int]  # line id -> user id
    booked: dict[int, int]  # call id -> minutes of its services
    marked: set[int]
    clients: set[int]  # address ids with a project (themselves or their company)


@pytest.fixture
def world(store: Store) -> World:
    factories.telephony(store, timezone="Europe/Zurich")
    create_synthetic_crm(store, 400, workers=0)
    create_synthetic_calls(store, 3, days=75, end=END, calls=3 * 53 * 12)
    with store.session() as session:
        settings = TelephonySettings.load(session)
        calls = list(session.scalars(select(Call)))
        session.expunge_all()
        owner = {line: user for line, user in session.execute(select(Line.id, Line.user_id))}
        booked: dict[int, int] = defaultdict(int)
        for call_id, minutes in session.execute(select(Service.call_id, Service.minutes)):
            booked[call_id] += minutes
        marked = set(session.scalars(select(NotBillable.call_id)))
        customers = {c for c in session.scalars(select(Project.customer_id)) if c}
        clients = {
            a.id
            for a in session.scalars(select(Address))
            if a.id in customers or a.company_id in customers
        }
    return World(store, settings, calls, owner, dict(booked), marked, clients)


def _local(world: World, at: datetime) -> datetime:
    return at.astimezone(world.settings.zone)


def _in(world: World, call: Call, user_id: int | None, first: date, last: date) -> bool:
    day = _local(world, call.started_at).date()
    mine = user_id is None or world.owner[call.line_id] == user_id
    return mine and first <= day <= last


def _client_call(world: World, call: Call) -> bool:
    return (
        call.state == "ended"
        and call.connected_at is not None
        and call.ended_at is not None
        and call.address_id in world.clients
    )


def _seconds(call: Call) -> int:
    assert call.ended_at and call.connected_at
    return int(call.ended_at.timestamp()) - int(call.connected_at.timestamp())


def test_synthetic_history_has_everything_the_figures_need(world: World) -> None:
    assert len(world.calls) > 1000
    kinds = Counter(call.end_reason for call in world.calls)
    assert kinds["missed"] and kinds["answered"] and kinds["busy"]
    assert world.booked and world.marked and world.clients


@pytest.mark.parametrize("whose", ["firm", "user"])
def test_figures_match_an_independent_recount(world: World, whose: str) -> None:
    user_id = None if whose == "firm" else sorted(set(world.owner.values()))[1]
    flt = figures.FiguresFilter(user_id, FIRST, END)
    with world.store.session() as session:
        # The charts read the sums of calls (the synthetic writer builds them), not the calls.
        assert call_sums.sums_zone(session.connection()) == world.settings.timezone
        weeks = figures.weeks(session, flt, world.settings)
        per_user = figures.users(session, flt, world.settings)
        hours, days = figures.ringing(session, flt, world.settings)
        backs = figures.callbacks(session, flt, world.settings)
        top = figures.top_callers(session, flt, world.settings)

    mine = [c for c in world.calls if _in(world, c, user_id, FIRST, END)]
    expected_weeks: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    expected_users: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for call in filter(lambda c: _client_call(world, c), mine):
        local = _local(world, call.started_at).date()
        monday = local - timedelta(days=local.weekday())
        for slot in (expected_weeks[monday], expected_users[world.owner[call.line_id]]):
            slot[0] += 1
            slot[1] += _seconds(call)
            slot[2] += world.booked.get(call.id, 0)
            slot[3] += call.id not in world.booked and call.id not in world.marked
    got_weeks = {
        row.week: [row.time.calls, row.time.seconds, row.time.booked_minutes, row.time.unbooked]
        for row in weeks
        if row.time.calls
    }
    assert got_weeks == dict(expected_weeks)
    assert [row.week.weekday() for row in weeks] == [0] * len(weeks)
    assert weeks[0].week <= FIRST and weeks[-1].week > END - timedelta(days=7)
    got_users = {
        row.user_id: [
            row.time.calls,
            row.time.seconds,
            row.time.booked_minutes,
            row.time.unbooked,
        ]
        for row in per_user
    }
    assert got_users == dict(expected_users)

    incoming = [c for c in mine if c.direction == "incoming"]
    by_hour = Counter(_local(world, c.started_at).hour for c in incoming)
    missed_by_day = Counter(
        _local(world, c.started_at).weekday() for c in incoming if c.end_reason == "missed"
    )
    assert {int(r.label[:2]): r.incoming for r in hours if r.incoming} == dict(by_hour)
    assert {figures.WEEKDAYS.index(r.label): r.missed for r in days if r.missed} == dict(
        missed_by_day
    )

    outgoing: dict[str | None, list[datetime]] = defaultdict(list)
    for call in world.calls:  # called back by anybody, also after the period
        if call.direction == "outgoing":
            outgoing[call.remote_e164].append(call.started_at)
    expected_backs: Counter[str] = Counter()
    for call in (c for c in incoming if c.end_reason == "missed"):
        if call.remote_e164 is None:
            expected_backs[figures.WITHHELD] += 1
            continue
        later = [at for at in outgoing[call.remote_e164] if at > call.started_at]
        delay = int(min(later).timestamp()) - int(call.started_at.timestamp()) if later else None
        bucket = next(
            (label for bound, label in figures.CALLBACK_BUCKETS if delay and delay <= bound),
            figures.NOT_CALLED_BACK,
        )
        expected_backs[bucket] += 1
    assert {r.label: r.calls for r in backs if r.calls} == dict(expected_backs)
    assert sum(r.calls for r in backs) == sum(1 for c in incoming if c.end_reason == "missed")

    per_address = Counter(c.address_id for c in mine if c.address_id)
    assert [row.calls for row in top] == sorted(per_address.values(), reverse=True)[: len(top)]
    for row in top:
        assert per_address[row.address_id] == row.calls


def _all_unbilled(world: World, flt: unbilled.UnbilledFilter) -> list[Any]:
    rows, number = [], 1
    with world.store.session() as session:
        while True:
            page = unbilled.unbilled(session, flt, world.settings, number)
            rows += page.items
            if not page.has_next:
                return rows
            number += 1


def test_the_list_is_every_unbooked_unmarked_client_call_newest_first(world: World) -> None:
    user_id = sorted(set(world.owner.values()))[0]
    first, last = date(2026, 9, 28), END
    flt = unbilled.UnbilledFilter(user_id, first, last)
    rows = _all_unbilled(world, flt)
    expected = sorted(
        (
            c
            for c in world.calls
            if _in(world, c, user_id, first, last)
            and _client_call(world, c)
            and c.id not in world.booked
            and c.id not in world.marked
        ),
        key=lambda c: (c.started_at, c.id),
        reverse=True,
    )
    assert len(expected) > PAGE_SIZE  # more than one page
    assert [row.entry.id for row in rows] == [c.id for c in expected]
    assert {row.owner for row in rows} == {f"Synthetic user {user_id}"}

    longer = _all_unbilled(world, unbilled.UnbilledFilter(user_id, first, last, min_minutes=4))
    assert [row.entry.id for row in longer] == [c.id for c in expected if _seconds(c) >= 240]
    address_id = expected[0].address_id
    one = _all_unbilled(world, unbilled.UnbilledFilter(user_id, address_id=address_id))
    assert one and {row.entry.address.id for row in one if row.entry.address} == {address_id}


def test_marking_takes_a_call_off_the_list_and_shows_in_the_journal(world: World) -> None:
    user_id = sorted(set(world.owner.values()))[0]
    other = sorted(set(world.owner.values()))[1]
    flt = unbilled.UnbilledFilter(user_id)
    top = _all_unbilled(world, flt)[0]
    with world.store.session() as session:
        with pytest.raises(unbilled.NotMarkable):
            unbilled.mark_not_billable(session, other, top.entry.id, "not mine")
        unbilled.mark_not_billable(session, user_id, top.entry.id, "  Courtesy\ncall " + "x" * 400)
    with world.store.session() as session:
        mark = unbilled.mark_of(session, top.entry.id)
        assert mark is not None and mark.reason.startswith("Courtesy call x")
        assert len(mark.reason) == unbilled.REASON_MAX
        entry = journal.one(session, top.entry.id)
        assert entry is not None and entry.not_billable and entry.service_id is None
        first = unbilled.unbilled(session, flt, world.settings, 1).items[0]
        assert first.entry.id != top.entry.id
    with world.store.session() as session:
        assert unbilled.unmark(session, user_id, top.entry.id)
    with world.store.session() as session:
        assert unbilled.unbilled(session, flt, world.settings, 1).items[0].entry.id == top.entry.id
