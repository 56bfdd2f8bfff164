"""The sums of calls behind the charts stay what the calls say, whatever changes them: after
each change made the way offhook makes it (call events through the recorder, services, marks,
projects, a chosen address, reconciliation, a deleted line), the kept sums are the sums built
anew from the calls, and every chart read from them is the chart counted from the calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.calls.recorder import reconcile, record_many
from offhook.crm import call_figures as figures
from offhook.crm import unbilled
from offhook.settings.telephony import TelephonySettings
from offhook.store import Store, call_sums
from offhook.store.models import (
    Address,
    Call,
    CallDaySum,
    CallerDaySum,
    CallHourSum,
    Line,
    PhoneSystem,
    Project,
    Service,
)
from tests import factories

# 23:30 in Zurich: the calls of the next hour are of the next local day, not of the UTC one.
T0 = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 20), date(2026, 12, 4)
# Long enough to hold whole four weeks: the firm's top callers are narrowed down by those.
LONG = date(2026, 9, 2)
CLIENT = "+41446681812"
OTHER = "+41441112233"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def feed(store: Store, *events: CallEvent) -> None:
    with store.session() as session:
        record_many(session, list(events))


def _rows(connection: Connection) -> dict[str, set[tuple[Any, ...]]]:
    """Every table of sums without its rows of zeros (a key whose calls are gone)."""
    found = {}
    for model in (CallDaySum, CallHourSum, CallerDaySum):
        rows = connection.execute(select(model.__table__)).all()
        keys = len(model.__table__.primary_key.columns)
        found[model.__tablename__] = {tuple(r) for r in rows if any(r[keys:])}
    return found


def check(store: Store) -> None:
    """The kept sums are the rebuilt ones; the charts read from them are the counted ones."""
    with store.sessions() as session:
        connection = session.connection()
        zone = call_sums.sums_zone(connection)
        settings = TelephonySettings.load(session)
        assert zone == settings.timezone  # the charts read the sums
        users = [None, *session.scalars(select(Line.user_id).distinct())]
        for user_id, first in [(user, day) for user in users for day in (FIRST, LONG)]:
            flt = figures.FiguresFilter(user_id, first, LAST)
            assert figures.weeks(session, flt, settings) == figures.weeks_counted(
                session, flt, settings
            )
            assert figures.users(session, flt, settings) == figures.users_counted(
                session, flt, settings
            )
            assert figures.ringing(session, flt, settings) == figures.ringing_counted(
                session, flt, settings
            )
            assert figures.callbacks(session, flt, settings) == figures.callbacks_counted(
                session, flt, settings
            )
            assert figures.top_callers(session, flt, settings) == figures.top_callers_counted(
                session, flt, settings
            )
        kept = _rows(connection)
        call_sums.rebuild(connection, ZoneInfo(zone))
        assert kept == _rows(connection)
        session.rollback()


def _call(store: Store, ref: str) -> Call:
    with store.session() as session:
        call = session.scalar(select(Call).where(Call.call_ref == ref))
        assert call is not None
        return call


def test_sums_follow_every_change(store: Store) -> None:
    factories.telephony(store, timezone="Europe/Zurich")
    anna, line = factories.user_with_line(store)
    _, ben_line = factories.user_with_line(store, "ben", role="user")
    client = factories.address(store)
    other = factories.address(
        store, first="Otto", last="Meier", company="Other AG", numbers=(("phone", OTHER),)
    )
    factories.project(store, "P1", client.company_id)
    kind = factories.service_type(store)
    check(store)

    # A call with a client across local midnight's hour, then a missed call on Ben's line.
    incoming = Direction.INCOMING
    feed(
        store,
        CallEvent(line.id, "c1", incoming, CallState.RINGING, at(0), CLIENT),
        CallEvent(line.id, "c1", incoming, CallState.CONNECTED, at(5)),
    )
    check(store)
    feed(store, CallEvent(line.id, "c1", incoming, CallState.ENDED, at(400)))
    check(store)
    feed(
        store,
        CallEvent(ben_line.id, "c2", incoming, CallState.RINGING, at(3600), OTHER),
        CallEvent(
            ben_line.id, "c2", incoming, CallState.ENDED, at(3620), end_reason=EndReason.MISSED
        ),
    )
    check(store)
    # Anna calls the number back 20 minutes later: the missed call moves to "within an hour".
    outgoing = Direction.OUTGOING
    feed(
        store,
        CallEvent(line.id, "c3", outgoing, CallState.DIALLING, at(4800), OTHER),
        CallEvent(line.id, "c3", outgoing, CallState.CONNECTED, at(4810)),
        CallEvent(line.id, "c3", outgoing, CallState.ENDED, at(5000)),
    )
    check(store)
    with store.sessions() as session:
        settings = TelephonySettings.load(session)
        backs = figures.callbacks(session, figures.FiguresFilter(None, FIRST, LAST), settings)
        assert {r.label: r.calls for r in backs if r.calls} == {"within an hour": 1}

    # A service booked from the client call, changed, deleted.
    c1 = _call(store, "c1")
    with store.session() as session:
        project = session.scalar(select(Project).where(Project.code == "P1"))
        assert project is not None
        service = Service(
            user_id=anna.id,
            project_id=project.id,
            service_type_id=kind.id,
            address_id=client.id,
            call_id=c1.id,
            day=date(2026, 11, 26),
            minutes=10,
        )
        session.add(service)
    check(store)
    with store.session() as session:
        found = session.scalar(select(Service).where(Service.call_id == c1.id))
        assert found is not None
        found.minutes = 15
    check(store)
    with store.session() as session:
        found = session.scalar(select(Service).where(Service.call_id == c1.id))
        session.delete(found)
    check(store)

    # Marked not billable, and back on the list.
    with store.session() as session:
        unbilled.mark_not_billable(session, anna.id, c1.id, "courtesy")
    check(store)
    with store.session() as session:
        assert unbilled.unmark(session, anna.id, c1.id)
    check(store)

    # Other AG becomes a client: the callback is a call with a client now.
    with store.session() as session:
        session.add(Project(code="P2", customer_id=other.company_id))
    check(store)
    # The user chooses another address for the missed call.
    with store.session() as session:
        c2 = session.scalar(select(Call).where(Call.call_ref == "c2"))
        assert c2 is not None
        c2.address_id = client.id
        c2.address_chosen = True
    check(store)

    # A call still ringing when the phone system says it is gone: ended by reconciliation.
    feed(store, CallEvent(line.id, "c4", incoming, CallState.RINGING, at(9000), CLIENT))
    check(store)
    with store.session() as session:
        assert reconcile(session, line.id, [], at(9030))
    check(store)

    # The client's company goes: its contact person is nobody's client any more.
    with store.session() as session:
        company = session.get(Address, client.company_id)
        session.delete(company)
    check(store)

    # Cleo's phone system goes, with her line and its calls (the database deletes those).
    _, cleo_line = factories.user_with_line(store, "cleo", role="user")
    feed(store, CallEvent(cleo_line.id, "c5", incoming, CallState.RINGING, at(9100), CLIENT))
    check(store)
    with store.session() as session:
        system = session.get(PhoneSystem, cleo_line.phone_system_id)
        session.delete(system)
    check(store)

    # Ben's line goes, and its calls with it.
    with store.session() as session:
        gone = session.get(Line, ben_line.id)
        session.delete(gone)
    check(store)


def test_a_new_zone_rebuilds_the_sums_and_until_then_the_calls_are_counted(
    store: Store,
) -> None:
    factories.telephony(store, timezone="Europe/Zurich")
    _, line = factories.user_with_line(store)
    feed(
        store,
        CallEvent(line.id, "c1", Direction.INCOMING, CallState.RINGING, at(0), CLIENT),
        CallEvent(
            line.id, "c1", Direction.INCOMING, CallState.ENDED, at(10), end_reason=EndReason.MISSED
        ),
    )
    flt = figures.FiguresFilter(None, FIRST, LAST)
    with store.session() as session:
        settings = TelephonySettings.load(session)
        hours, _ = figures.ringing(session, flt, settings)
        assert [r.label for r in hours if r.incoming] == ["23:00"]
    settings = factories.telephony(store, timezone="America/New_York")
    with store.session() as session:
        assert call_sums.sums_zone(session.connection()) == "America/New_York"
        hours, _ = figures.ringing(session, flt, settings)
        assert [r.label for r in hours if r.incoming] == ["17:00"]
    check(store)
    # Sums left in another zone (as by a restore) are not read: the calls are counted.
    with store.session() as session:
        call_sums.rebuild(session.connection(), ZoneInfo("Asia/Tokyo"))
    with store.session() as session:
        hours, _ = figures.ringing(session, flt, settings)
        assert [r.label for r in hours if r.incoming] == ["17:00"]


def test_two_transactions_changing_the_same_day_both_count(store: Store) -> None:
    """PostgreSQL: a transaction that recorded a call commits after another that booked a
    service from a call of the same line and day committed; the sums have both (whoever
    recomputes a key last sees what the other committed)."""
    if store.dialect == "sqlite":
        return  # one writer at a time: the second would wait for the first to commit
    factories.telephony(store, timezone="Europe/Zurich")
    anna, line = factories.user_with_line(store)
    client = factories.address(store)
    factories.project(store, "P1", client.company_id)
    kind = factories.service_type(store)
    incoming = Direction.INCOMING
    feed(
        store,
        CallEvent(line.id, "c1", incoming, CallState.RINGING, at(0), CLIENT),
        CallEvent(line.id, "c1", incoming, CallState.CONNECTED, at(5)),
        CallEvent(line.id, "c1", incoming, CallState.ENDED, at(400)),
    )
    c1 = _call(store, "c1")
    with store.sessions() as recording, store.sessions() as booking:
        record_many(
            recording,
            [
                CallEvent(line.id, "c2", incoming, CallState.RINGING, at(600), CLIENT),
                CallEvent(line.id, "c2", incoming, CallState.CONNECTED, at(605)),
                CallEvent(line.id, "c2", incoming, CallState.ENDED, at(900)),
            ],
        )
        recording.flush()
        project = booking.scalar(select(Project).where(Project.code == "P1"))
        assert project is not None
        booking.add(
            Service(
                user_id=anna.id,
                project_id=project.id,
                service_type_id=kind.id,
                call_id=c1.id,
                day=date(2026, 11, 26),
                minutes=10,
            )
        )
        booking.commit()
        recording.commit()
    check(store)
    with store.sessions() as session:
        settings = TelephonySettings.load(session)
        weeks = figures.weeks(session, figures.FiguresFilter(None, FIRST, LAST), settings)
        time = figures.total(weeks)
        assert (time.calls, time.booked_minutes, time.unbooked) == (2, 10, 1)
