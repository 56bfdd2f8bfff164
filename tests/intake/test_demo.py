"""The demo firm: realistic, complete, found by the lookup, and safe to seed twice."""

from __future__ import annotations

from sqlalchemy import func, select

from offhook.directory.lookup import lookup
from offhook.intake.demo import seed_demo
from offhook.numbers import parse_incoming
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store import Store
from offhook.store.models import (
    Address,
    Call,
    Channel,
    Line,
    PhoneSystem,
    Project,
    ServiceType,
    User,
)


def count(store: Store, model: type) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_demo_firm(sqlite_store: Store) -> None:
    store = sqlite_store
    token = seed_demo(store, call_every=0)
    assert token.startswith("ohk_")
    assert 45 <= count(store, Address) <= 60
    assert count(store, User) == 2
    assert count(store, Line) == 2
    assert count(store, Project) >= 10
    assert count(store, ServiceType) >= 3
    assert count(store, Call) > 50  # a few weeks of history
    with store.session() as session:
        kinds = set(session.scalars(select(Address.kind)))
        assert kinds == {"person", "company", "contact"}
        numbers = list(session.scalars(select(Channel).where(Channel.kind != "email")))
        failed = [(c.value, c.normalize_error) for c in numbers if c.e164 is None]
        assert failed == []
        countries = {c.e164[:3] for c in numbers if c.e164}
        assert {"+41", "+49", "+43", "+33", "+44"} <= countries
        settings = TelephonySettings.load(session)
        plan = numbering_plan(settings)
        # Every demo number, however it was typed, finds its address.
        for channel in numbers:
            found = lookup(session, parse_incoming(channel.e164 or "", plan), settings.country)
            assert channel.address_id in {m.address_id for m in found}, channel.value

    again = seed_demo(store, call_every=30)
    assert again != token
    assert count(store, User) == 2 and count(store, Address) <= 60
    with store.session() as session:
        # One simulated PBX for the firm: both desk phones are extensions on it, and its ring
        # group 600 rings both.
        pbx = session.scalars(select(PhoneSystem)).one()
        assert pbx.options["call_every"] == 30
        assert pbx.options["ring_groups"] == {"600": ["201", "202"]}
        assert sorted(line.address for line in pbx.lines) == ["201", "202"]
