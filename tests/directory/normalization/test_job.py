"""Normalize phone numbers: streams in batches, idempotent, resumable, one run at a time."""

from __future__ import annotations

import csv
import threading
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sqlalchemy import select, update

from offhook.directory.normalization import (
    NormalizationBusy,
    Normalized,
    Progress,
    last_run,
    normalize_numbers,
    stale_numbers_exist,
)
from offhook.directory.normalization.job import (
    _advisory_lock,
    _batches,
    _exclusive,
    _lock_file,
    _write,
)
from offhook.directory.normalization.report import all_problems, problems, write_report
from offhook.intake.synthetic import create_synthetic_crm
from offhook.settings.telephony import TelephonySettings
from offhook.store import Store
from offhook.store.models import Address, Channel
from tests import factories


def _channel(store: Store, value: str) -> Channel:
    with store.session() as session:
        channel = session.scalar(select(Channel).where(Channel.value == value))
        assert channel is not None
        return channel


def _fingerprint(store: Store) -> str:
    with store.session() as session:
        return TelephonySettings.load(session).fingerprint()


def test_a_change_of_settings_is_caught_up(store: Store) -> None:
    factories.address(store, numbers=(("phone", "668 18 12"), ("mobile", "079 412 33 18")))
    assert _channel(store, "668 18 12").number_kind == "invalid"  # no area code yet
    assert not stale_numbers_exist(store)
    factories.telephony(store, area_code="44")
    assert stale_numbers_exist(store)

    progress = normalize_numbers(store)
    assert (progress.state, progress.total, progress.done, progress.changed) == (
        "finished",
        2,
        2,
        1,
    )
    assert progress.problems == 0
    local = _channel(store, "668 18 12")
    assert (local.e164, local.number_kind, local.normalize_error) == (
        "+41446681812",
        "external",
        None,
    )
    assert local.normalized_with == _fingerprint(store)
    assert not stale_numbers_exist(store)
    with store.session() as session:
        kept = last_run(session)
    assert kept is not None and kept.state == "finished" and kept.done == 2


def test_running_it_again_does_nothing(store: Store) -> None:
    create_synthetic_crm(store, 200, seed=1, workers=0)
    factories.telephony(store, area_code="44")
    first = normalize_numbers(store, batch_size=100)
    assert first.done == first.total > 200
    again = normalize_numbers(store)
    assert (again.total, again.done, again.changed) == (0, 0, 0)
    everything = normalize_numbers(store, everything=True)
    assert everything.done == first.total and everything.changed == 0


def test_an_interrupted_run_continues_where_it_stopped(store: Store) -> None:
    create_synthetic_crm(store, 300, seed=2, workers=0)
    factories.telephony(store, country="DE", area_code="30")
    stop = threading.Event()
    seen: list[int] = []

    def after_batch(progress: Progress) -> None:
        seen.append(progress.done)
        stop.set()

    cut = normalize_numbers(store, batch_size=250, stop=stop, on_progress=after_batch)
    assert cut.state == "interrupted" and cut.done == 250 and seen == [250]
    with store.session() as session:
        kept = last_run(session)
    assert kept is not None and kept.state == "interrupted"
    rest = normalize_numbers(store, batch_size=250)
    assert rest.state == "finished" and rest.total == cut.total - 250 == rest.done
    assert not stale_numbers_exist(store)


def test_a_number_edited_meanwhile_is_left_to_the_edit(store: Store) -> None:
    factories.address(store, numbers=(("phone", "668 18 12"),))
    factories.telephony(store, area_code="44")
    fingerprint = _fingerprint(store)
    (rows,) = list(_batches(store.engine, fingerprint, False, 10, None))
    with store.engine.begin() as connection:
        connection.execute(update(Channel).values(value="044 999 99 99"))
    with store.engine.begin() as connection:
        result = Normalized("+41446681812", "external", None, None)
        assert _write(connection, fingerprint, rows, [result])
    channel = _channel(store, "044 999 99 99")
    assert channel.e164 is None  # not the old value's number


def test_one_run_at_a_time(store: Store) -> None:
    with _exclusive(store), pytest.raises(NormalizationBusy):
        normalize_numbers(store)
    normalize_numbers(store)  # free again


def test_the_database_lock_holds_across_connections(store: Store) -> None:
    def lock() -> AbstractContextManager[None]:
        if store.dialect == "postgresql":
            return _advisory_lock(store.engine)
        return _lock_file(store.url)

    with lock(), pytest.raises(NormalizationBusy), lock():
        pass
    with lock():  # released
        pass


def test_what_could_not_be_normalized(store: Store, tmp_path: Path) -> None:
    anna = factories.address(
        store,
        numbers=(
            ("phone", "044 668 18 12"),
            ("phone", "12345"),
            ("mobile", "unknown"),
            ("fax", "231"),
            ("email", "not a number"),
        ),
    )
    found = [(p.address_id, p.channel_kind, p.number_as_entered) for p in all_problems(store)]
    assert found == [(anna.id, "phone", "12345"), (anna.id, "mobile", "unknown")]
    with store.session() as session:
        first, second = problems(session)
        assert problems(session, after=first.channel_id) == [second]
    assert first.address_name == "Anna Müller, Muster AG"
    assert "too short" in first.reason and "no phone number" in second.reason
    assert normalize_numbers(store, everything=True).problems == 2

    path = tmp_path / "report.csv"
    assert write_report(store, path, "https://offhook.example/") == 2
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["link"] == f"https://offhook.example/addresses/{anna.id}"
    assert rows[0]["number_as_entered"] == "12345" and rows[1]["channel"] == "Mobile"


def test_problems_page_through_many(store: Store) -> None:
    with store.session() as session:
        for index in range(7):
            address = Address(kind="person", last_name=f"P{index}")
            address.channels = [Channel(kind="phone", value="1", number_kind="invalid")]
            session.add(address)
    with store.session() as session:
        pages, after = [], 0
        while page := problems(session, after, limit=3):
            pages.append(len(page))
            after = page[-1].channel_id
    assert pages == [3, 3, 1]


def test_worker_processes_normalize_the_same(sqlite_store: Store) -> None:
    create_synthetic_crm(sqlite_store, 300, seed=4, workers=0)
    factories.telephony(sqlite_store, area_code="44", internal_max_length=3)
    progress = normalize_numbers(sqlite_store, workers=2, batch_size=200)
    assert progress.state == "finished" and progress.done == progress.total
    with sqlite_store.session() as session:
        parallel = [
            (c.e164, c.number_kind, c.block_prefix, c.normalize_error)
            for c in session.scalars(select(Channel).order_by(Channel.id))
        ]
        session.execute(update(Channel).values(normalized_with=None, e164=None))
    normalize_numbers(sqlite_store, workers=0)
    with sqlite_store.session() as session:
        inline = [
            (c.e164, c.number_kind, c.block_prefix, c.normalize_error)
            for c in session.scalars(select(Channel).order_by(Channel.id))
        ]
    assert parallel == inline


def test_numbers_of_foreign_addresses_are_read_in_their_country(store: Store) -> None:
    # As saving the address does (offhook.directory.names.normalize_channel): "089 3816 230" on a
    # Munich address is a Munich number, and so is a contact person's at a Munich company.
    with store.session() as session:
        munich = Address(kind="company", company_name="Schneider GmbH", country="DE")
        munich.channels = [Channel(kind="phone", value="089 3816 0")]
        petra = Address(kind="contact", last_name="Hoffmann", company=munich)
        petra.channels = [Channel(kind="phone", value="089 / 3816 - 230")]
        session.add_all([munich, petra])
    normalize_numbers(store)
    assert _channel(store, "089 3816 0").e164 == "+498938160"
    assert _channel(store, "089 3816 0").block_prefix == "+49893816"
    assert _channel(store, "089 / 3816 - 230").e164 == "+49893816230"
