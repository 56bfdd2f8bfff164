"""Synthetic CRM data: realistic, deterministic, normalized like everything else."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select

from offhook.directory.normalization import normalized
from offhook.intake.synthetic import _Generator, create_synthetic_crm
from offhook.settings.telephony import TelephonySettings, numbering_plan
from offhook.store import Store
from offhook.store.models import Address, Channel


def _rows(store: Store) -> tuple[list[Address], list[Channel]]:
    with store.session() as session:
        addresses = list(session.scalars(select(Address).order_by(Address.id)))
        channels = list(session.scalars(select(Channel).order_by(Channel.id)))
    return addresses, channels


def test_same_seed_same_data_other_seed_other_data() -> None:
    one, two, other = _Generator(3).addresses(500), _Generator(3).addresses(500), _Generator(4)
    assert one.channels == two.channels
    assert [a[1:12] for a in one.addresses] == [a[1:12] for a in two.addresses]
    assert other.addresses(500).channels != one.channels


def test_a_realistic_crm(store: Store) -> None:
    summary = create_synthetic_crm(store, 1500, seed=11, workers=0)
    addresses, channels = _rows(store)
    assert summary.addresses == len(addresses) == 1500
    assert summary.channels == len(channels)
    assert 2.2 <= summary.numbers / summary.addresses <= 2.8  # about 2.5 numbers per address
    kinds = Counter(a.kind for a in addresses)
    assert kinds["company"] > 200 and kinds["contact"] > 500 and kinds["person"] > 300
    companies = {a.id for a in addresses if a.kind == "company"}
    assert all(a.company_id in companies for a in addresses if a.kind == "contact")
    assert {a.country for a in addresses} >= {"CH", "DE", "AT", "FR", "IT", "GB", "US"}
    numbers = [c for c in channels if c.kind != "email"]
    assert Counter(c.kind for c in numbers).keys() == {"phone", "mobile", "fax"}
    # Written every way people type them.
    values = [c.value for c in numbers]
    for pattern in (r"^\+\d+ \d", r"^00\d", r"^0\d\d/\d", r"\(0\)", r"-\d+$", r"^\+\d{9,}$"):
        assert any(re.search(pattern, value) for value in values), pattern
    # Mostly numbers that exist, a few that cannot be normalized, like any real address book.
    outcome = Counter(c.number_kind for c in numbers)
    assert outcome["external"] / len(numbers) > 0.96
    assert outcome["invalid"] > 0
    assert sum(1 for c in numbers if c.block_prefix) > 150  # switchboards
    assert len({c.e164 for c in numbers if c.e164}) < outcome["external"]  # shared numbers


def test_values_are_normalized_by_the_one_rule(store: Store) -> None:
    create_synthetic_crm(store, 400, seed=2, workers=0)
    with store.session() as session:
        settings = TelephonySettings.load(session)
    plan, fingerprint = numbering_plan(settings), settings.fingerprint()
    addresses, channels = _rows(store)
    countries = {a.id: a.country for a in addresses}
    for channel in channels:
        stored = (channel.e164, channel.number_kind, channel.block_prefix, channel.normalize_error)
        expected = normalized(channel.kind, channel.value, plan, countries[channel.address_id])
        assert stored == tuple(expected), channel.value
        assert channel.normalized_with == fingerprint


def test_adding_more_continues_the_ids(store: Store) -> None:
    create_synthetic_crm(store, 100, seed=1, workers=0)
    create_synthetic_crm(store, 100, seed=1, workers=0)
    addresses, channels = _rows(store)
    assert len(addresses) == 200 and len({a.id for a in addresses}) == 200
    assert all(c.address_id in {a.id for a in addresses} for c in channels)


def test_worker_processes_write_the_same(sqlite_store: Store) -> None:
    create_synthetic_crm(sqlite_store, 300, seed=9, workers=2)
    _, parallel = _rows(sqlite_store)
    with sqlite_store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM channels")
        connection.exec_driver_sql("DELETE FROM addresses")
    create_synthetic_crm(sqlite_store, 300, seed=9, workers=0)
    _, inline = _rows(sqlite_store)

    def key(c: Channel) -> tuple[object, ...]:
        return (c.kind, c.value, c.e164, c.number_kind, c.block_prefix, c.normalize_error)

    assert [key(c) for c in parallel] == [key(c) for c in inline]
