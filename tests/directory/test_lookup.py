"""Caller lookup: exact, switchboard (approximate), internal; ranking; what is never looked up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from offhook.directory.lookup import MAX_MATCHES, lookup
from offhook.numbers import NumberingPlan, parse_incoming
from offhook.store import Store
from offhook.store.models import Call
from tests import factories
from tests.directory.conftest import find, statements


def test_exact_match_however_the_number_was_written(store: Store) -> None:
    anna = factories.address(store, numbers=(("phone", "+41 (0)44/668.18.12"),))
    matches = find(store, "0446681812")
    assert [m.address_id for m in matches] == [anna.id]
    found = matches[0].to_json()
    assert found["name"] == "Anna Müller, Muster AG"
    assert found["match"] == "exact" and found["approximate"] is False
    assert found["number_as_entered"] == "+41 (0)44/668.18.12"
    assert found["channel_kind"] == "phone"
    assert "Bahnhofstrasse 12" in found["full_address"]
    for caller in ("+41446681812", "sip:+41446681812@pbx;user=phone", "0041 44 668 18 12"):
        assert [m.address_id for m in find(store, caller)] == [anna.id], caller


def test_switchboard_of_a_direct_dial_number_is_approximate(store: Store) -> None:
    company = factories.address(
        store, kind="company", company="Muster AG", numbers=(("phone", "+41 44 668 18 00"),)
    )
    matches = find(store, "+41 44 668 18 55")
    assert [(m.address_id, m.match, m.approximate) for m in matches] == [
        (company.id, "switchboard", True)
    ]
    assert matches[0].number_as_entered == "+41 44 668 18 00"


def test_din_switchboard_notation_heads_its_block(store: Store) -> None:
    factories.telephony(store, country="DE", area_code="711")
    company = factories.address(
        store, kind="company", company="Schwaben GmbH", numbers=(("phone", "0711 12345-0"),)
    )
    assert [m.address_id for m in find(store, "0711 12345 214")] == [company.id]
    assert [m.match for m in find(store, "+49 711 12345 214")] == ["switchboard"]


def test_an_exact_match_beats_the_switchboard(store: Store) -> None:
    factories.address(
        store, kind="company", company="Muster AG", numbers=(("phone", "044 668 18 00"),)
    )
    anna = factories.address(store, numbers=(("phone", "044 668 18 12"),))
    assert [(m.address_id, m.match) for m in find(store, "+41446681812")] == [(anna.id, "exact")]


def test_the_closest_block_comes_first(store: Store) -> None:
    wide = factories.address(
        store, kind="company", company="Grosse Bank AG", numbers=(("phone", "044 668 1 000"),)
    )
    close = factories.address(
        store, kind="company", company="Muster AG", numbers=(("phone", "044 668 18 00"),)
    )
    assert [m.address_id for m in find(store, "044 668 18 55")] == [close.id, wide.id]
    assert [m.address_id for m in find(store, "044 668 17 55")] == [wide.id]


def test_mobile_numbers_and_written_out_numbers_head_no_block(store: Store) -> None:
    factories.address(store, kind="company", company="A AG", numbers=(("mobile", "079 123 45 00"),))
    factories.address(store, kind="company", company="B AG", numbers=(("phone", "+41441112200"),))
    assert find(store, "079 123 45 67") == []
    assert find(store, "044 111 22 33") == []


def test_a_shared_number_returns_every_address_ranked(store: Store) -> None:
    shared = "044 668 18 00"
    company = factories.address(
        store, kind="company", company="Muster AG", numbers=(("phone", shared),)
    )
    person = factories.address(
        store, kind="person", first="Zoe", last="Ammann", numbers=(("phone", shared),)
    )
    contact = factories.address(store, first="Yves", last="Zürcher", numbers=(("phone", shared),))
    by_fax = factories.address(
        store, kind="person", first="Adam", last="Aebi", numbers=(("fax", shared),)
    )
    matches = find(store, shared)
    # A phone before a fax; a contact person before a person before the company.
    assert [m.address_id for m in matches] == [contact.id, person.id, company.id, by_fax.id]
    assert {m.match for m in matches} == {"exact"}


def test_an_address_with_the_number_twice_is_one_match(store: Store) -> None:
    anna = factories.address(
        store, numbers=(("mobile", "079 412 33 18"), ("phone", "+41 79 412 33 18"))
    )
    matches = find(store, "0794123318")
    assert [(m.address_id, m.channel_kind) for m in matches] == [(anna.id, "phone")]


def test_the_address_last_chosen_for_a_number_comes_first(store: Store) -> None:
    _, line = factories.user_with_line(store)
    shared = "044 668 18 00"
    first = factories.address(store, first="Anna", last="Aebi", numbers=(("phone", shared),))
    second = factories.address(store, first="Beat", last="Bär", numbers=(("phone", shared),))
    assert [m.address_id for m in find(store, shared)] == [first.id, second.id]
    now = datetime.now(UTC)
    with store.session() as session:
        for minutes, chosen in ((30, first.id), (10, second.id)):
            session.add(
                Call(
                    line_id=line.id,
                    call_ref=f"c{minutes}",
                    direction="incoming",
                    state="ended",
                    remote_number=shared,
                    remote_e164="+41446681800",
                    started_at=now - timedelta(minutes=minutes),
                    address_id=chosen,
                    address_chosen=True,
                )
            )
        # Not chosen by a user: says nothing.
        session.add(
            Call(
                line_id=line.id,
                call_ref="c1",
                direction="incoming",
                state="ended",
                remote_number=shared,
                remote_e164="+41446681800",
                started_at=now,
                address_id=first.id,
                address_chosen=False,
            )
        )
    assert [m.address_id for m in find(store, shared)] == [second.id, first.id]


def test_internal_numbers_match_colleagues_by_extension(store: Store) -> None:
    user, _ = factories.user_with_line(store, login="ben", extension="231")
    factories.address(store, numbers=(("phone", "231"),))  # addresses are not colleagues
    matches = find(store, "231")
    assert [(m.user_id, m.match, m.address_id, m.name) for m in matches] == [
        (user.id, "internal", None, "Ben")
    ]
    assert find(store, "232") == []


def test_withheld_and_invalid_numbers_are_never_looked_up(store: Store) -> None:
    factories.address(store, numbers=(("phone", "anonymous"), ("phone", "12")))
    for caller in ("", "anonymous", "Anonymous <sip:anonymous@anonymous.invalid>", "P", "hello"):
        with statements(store) as sent, store.session() as session:
            assert lookup(session, parse_incoming(caller, NumberingPlan())) == []
        assert [s for s, _ in sent if "channels" in s or "users" in s] == [], caller


def test_few_queries_per_lookup(store: Store) -> None:
    factories.address(
        store, kind="company", company="Muster AG", numbers=(("phone", "044 668 18 00"),)
    )
    for caller, most in (("044 668 18 00", 1), ("044 668 18 55", 2), ("044 999 99 99", 2)):
        with statements(store) as sent:
            find(store, caller)
        lookups = [s for s, _ in sent if "FROM channels" in s]
        assert 1 <= len(lookups) <= most, (caller, lookups)


def test_at_most_max_matches(store: Store) -> None:
    for index in range(MAX_MATCHES + 3):
        factories.address(
            store,
            kind="person",
            first=f"P{index:02d}",
            last="Same",
            numbers=(("phone", "044 668 18 12"),),
        )
    assert len(find(store, "044 668 18 12")) == MAX_MATCHES


def test_an_address_with_odd_characters_is_found_as_it_is(store: Store) -> None:
    # The lookup reads each address as one text with fields joined by the unit separator; a
    # name that holds that character itself must not confuse it.
    odd = factories.address(
        store, first="Anna\x1fMaria", last="Müller", numbers=(("phone", "044 668 18 12"),)
    )
    (match,) = find(store, "0446681812")
    assert (match.address_id, match.name) == (odd.id, "Anna\x1fMaria Müller, Muster AG")
    assert "Bahnhofstrasse 12" in match.full_address  # the company's address, as usual
