"""The CRM pages in a real app over a real store: addresses, activities, services, projects
and the call history; who may see what; CSRF; escaping of caller data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, tuple_

from offhook.app import Offhook
from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.calls.recorder import record
from offhook.crm.address_search import SORT_KEY, search, search_query
from offhook.lines.admin import add_line_with_system, install_driver
from offhook.settings.config import Config
from offhook.settings.telephony import SettingsCache, TelephonySettings
from offhook.settings.users import add_user
from offhook.store import Store
from offhook.store.models import (
    Activity,
    Address,
    Call,
    Channel,
    Project,
    Service,
    ServiceType,
)
from offhook.web.app import create_app
from tests import factories
from tests.factories import PASSWORD
from tests.web.conftest import log_in

XSS = "<script>alert(1)</script>"


# --- the app, its users and their data ---------------------------------------------------------


@dataclass
class World:
    """A running app with two users (anna: admin, ben: user), each with a simulated line."""

    store: Store
    client: TestClient
    anna: int
    ben: int
    anna_line: int
    ben_line: int

    def session(self) -> Any:
        return self.store.session()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    SettingsCache.invalidate()
    store = Store(f"sqlite:///{tmp_path}/t.sqlite")
    offhook = Offhook(Config(data_dir=tmp_path), store)
    offhook.prepare()
    with store.session() as session:
        settings = TelephonySettings.load(session).model_copy(
            update={"country": "CH", "timezone": "Europe/Zurich", "rounding_step": 5}
        )
        settings.save(session)
        install_driver(session, "simulator", auto_load=True)
        anna = add_user(session, "anna", "Anna Admin", PASSWORD, "admin")
        ben = add_user(session, "ben", "Ben User", PASSWORD, "user")
        anna_line = add_line_with_system(session, anna, "simulator", "line-anna", "Anna's phone")
        ben_line = add_line_with_system(session, ben, "simulator", "line-ben", "Ben's phone")
        ids = (anna.id, ben.id, anna_line.id, ben_line.id)
    with TestClient(create_app(offhook), follow_redirects=False) as client:
        yield World(store, client, *ids)
    SettingsCache.invalidate()
    store.dispose()


def post(client: TestClient, url: str, csrf: str, **fields: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf, **fields})


def make_address(
    world: World,
    kind: str = "contact",
    first: str = "Anna",
    last: str = "Müller",
    company: str = "Muster AG",
    numbers: tuple[tuple[str, str], ...] = (("phone", "044 668 18 12"),),
) -> int:
    return factories.address(world.store, kind, first, last, company, numbers).id


START = datetime(2026, 11, 26, 8, 41, 3, tzinfo=UTC)  # 09:41:03 in Zurich


def make_call(
    world: World,
    line_id: int,
    number: str = "+41446681812",
    name: str = "",
    direction: Direction = Direction.INCOMING,
    start: datetime = START,
    talk: timedelta | None = timedelta(minutes=4, seconds=12),
    ref: str = "c1",
) -> int:
    """A finished call: rings 7.5 s, then talks for `talk` (or is missed without it)."""
    first = CallState.RINGING if direction is Direction.INCOMING else CallState.DIALLING
    events = [CallEvent(line_id, ref, direction, first, start, number, name)]
    end = start + timedelta(seconds=7, milliseconds=500)
    reason = EndReason.MISSED if direction is Direction.INCOMING else EndReason.CANCELLED
    if talk is not None:
        events.append(CallEvent(line_id, ref, direction, CallState.CONNECTED, end))
        end += talk
        reason = EndReason.ANSWERED
    events.append(CallEvent(line_id, ref, direction, CallState.ENDED, end, end_reason=reason))
    with world.session() as session:
        for event in events:
            change = record(session, event)
        return change.call_id


# --- login and CSRF --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/addresses",
        "/addresses/new",
        "/addresses/1",
        "/activities",
        "/activities/new",
        "/services",
        "/services/new",
        "/projects",
        "/projects/1",
        "/calls",
        "/calls/1",
    ],
)
def test_every_page_needs_login(world: World, url: str) -> None:
    response = world.client.get(url)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_forms_without_csrf_token_are_refused(world: World) -> None:
    log_in(world.client, "anna")
    response = world.client.post(
        "/addresses/new", data={"kind": "company", "company_name": "Evil AG"}
    )
    assert response.status_code == 403
    with world.session() as session:
        assert session.scalar(select(Address).where(Address.company_name == "Evil AG")) is None


# --- addresses --------------------------------------------------------------------------------


def test_address_search_by_name_company_city_and_number(world: World) -> None:
    anna_id = make_address(world)
    make_address(world, "person", "Peter", "Keller", numbers=(("mobile", "079 123 45 67"),))
    log_in(world.client, "ben")

    def names(q: str) -> list[str]:
        page = world.client.get("/addresses", params={"q": q})
        assert page.status_code == 200, page.text
        return re.findall(r'<a class="addr[^"]*" href="/addresses/(\d+)"', page.text)

    assert str(anna_id) in names("mül")
    assert str(anna_id) in names("Muster")  # a contact person is found by the company's name
    assert str(anna_id) in names("zür")  # reached at the company's address in Zürich
    assert str(anna_id) in names("+41 44 668 18 12")  # written another way than stored
    assert str(anna_id) not in names("Keller")
    assert names("0791234567") and str(anna_id) not in names("0791234567")


def test_address_list_pages_through_many_addresses(world: World) -> None:
    with world.session() as session:
        session.add_all(
            Address(kind="person", first_name="P", last_name=f"Person {i:03d}") for i in range(120)
        )
    log_in(world.client, "ben")

    def follow(html: str, rel: str) -> str:
        match = re.search(rf'<a class="btn btn-small" href="([^"]+)" rel="{rel}">', html)
        assert match, f"no {rel} link"
        html_: str = world.client.get(match.group(1).replace("&amp;", "&")).text
        return html_

    first = world.client.get("/addresses").text
    assert "Person 000" in first and "Person 049" in first and "Person 050" not in first
    assert 'rel="prev"' not in first
    third = follow(follow(first, "next"), "next")
    assert "Person 100" in third and "Person 119" in third and 'rel="next"' not in third
    second = follow(third, "prev")
    assert "Person 050" in second and "Person 099" in second and "Person 100" not in second
    again = follow(second, "prev")
    assert "Person 000" in again and "Person 049" in again and 'rel="prev"' not in again
    # A search pages the same way, and keeps its query.
    found = world.client.get("/addresses", params={"q": "person"}).text
    assert "q=person&amp;after=" in found
    assert world.client.get("/addresses", params={"after": "x"}).status_code == 200


def test_address_page_shows_channels_projects_and_actions(world: World) -> None:
    anna_id = make_address(
        world,
        numbers=(
            ("phone", "044 668 18 12"),
            ("mobile", "12"),
            ("email", "anna@muster.ch"),
            ("fax", "044 668 18 13 / 14"),
        ),
    )
    with world.session() as session:
        company_id = session.get(Address, anna_id).company_id
        session.add(Project(code="MUS-1", description="Annual accounts", customer_id=company_id))
    log_in(world.client, "ben")
    page = world.client.get(f"/addresses/{anna_id}").text
    assert "Anna Müller, Muster AG" in page
    assert "Bahnhofstrasse 12" in page  # a contact is reached at the company's address
    assert "044 668 18 12" in page and "+41446681812" in page  # as entered, and normalized
    assert 'data-dial="+41446681812"' in page
    assert 'href="mailto:anna@muster.ch"' in page
    assert "Cannot be normalized" in page  # the fax field holds two numbers
    assert "MUS-1" in page and "Annual accounts" in page
    assert f'href="/addresses/{company_id}"' in page
    assert "/delete" not in page  # only admins may delete
    company = world.client.get(f"/addresses/{company_id}").text
    assert "Contact persons" in company and f'href="/addresses/{anna_id}"' in company


def test_create_contact_person_with_company_chosen_by_name(world: World) -> None:
    make_address(world, "company", company="Muster AG", numbers=())
    csrf = log_in(world.client, "ben")
    form = world.client.get("/addresses/new", params={"number": "044 111 22 33"}).text
    assert 'value="044 111 22 33"' in form and 'name="csrf_token"' in form
    response = post(
        world.client,
        "/addresses/new",
        csrf,
        kind="contact",
        first_name="Eva",
        last_name="Graf",
        company="Muster AG",
        company_id="",
        ch_id=["", ""],
        ch_kind=["phone", "email"],
        ch_value=["044 111 22 33", "eva@muster.ch"],
        ch_label=["Direct", ""],
    )
    assert response.status_code == 303, response.text
    with world.session() as session:
        eva = session.scalar(select(Address).where(Address.last_name == "Graf"))
        assert eva is not None and eva.company is not None
        assert eva.company.company_name == "Muster AG"
        assert [(c.kind, c.value, c.e164) for c in eva.channels] == [
            ("phone", "044 111 22 33", "+41441112233"),
            ("email", "eva@muster.ch", None),
        ]
    assert response.headers["location"] == f"/addresses/{eva.id}"


def test_invalid_address_form_keeps_what_was_typed(world: World) -> None:
    csrf = log_in(world.client, "ben")
    response = post(
        world.client,
        "/addresses/new",
        csrf,
        kind="contact",
        first_name="Eva",
        last_name="",
        company="Nobody GmbH",
        street="Seestrasse 1",
        ch_id=["", ""],
        ch_kind=["phone", "email"],
        ch_value=["044 111 22 33", "not-an-email"],
        ch_label=["Direct", "Work"],
    )
    assert response.status_code == 422
    page = response.text
    assert "There is no company named “Nobody GmbH”" in page
    assert "is no e-mail address" in page
    for typed in (
        'value="Eva"',
        'value="Seestrasse 1"',
        'value="044 111 22 33"',
        'value="not-an-email"',
        'value="Work"',
        'value="Nobody GmbH"',
    ):
        assert typed in page
    with world.session() as session:
        assert session.scalar(select(Address).where(Address.first_name == "Eva")) is None


def _add_address_with_unreadable_number(world: World) -> str:
    """Ben adds Keller with the number 044 12; the address page shown after the save."""
    csrf = log_in(world.client, "ben")
    response = post(
        world.client,
        "/addresses/new",
        csrf,
        kind="person",
        last_name="Keller",
        ch_id="",
        ch_kind="phone",
        ch_value="044 12",
        ch_label="",
    )
    assert response.status_code == 303
    page = world.client.get(response.headers["location"]).text
    return page


def test_unreadable_number_is_saved_as_entered_with_a_warning(world: World) -> None:
    page = _add_address_with_unreadable_number(world)
    assert "cannot read" in page and "044 12" in page and "Cannot be normalized" in page


def test_an_unreadable_number_is_explained_in_the_users_language(world: World) -> None:
    world.client.headers["Accept-Language"] = "de-CH"
    page = _add_address_with_unreadable_number(world)
    # The flash after saving, and the badge on the address.
    assert (
        "offhook kann diese Nummer nicht lesen: 044 12 (zu kurz für eine Nummer (Schweiz))" in page
    )
    assert "Kann nicht normalisiert werden: zu kurz für eine Nummer (Schweiz)" in page
    assert "too short" not in page and "cannot read" not in page


def test_editing_keeps_channel_ids_and_normalizes_again(world: World) -> None:
    anna_id = make_address(world, numbers=(("phone", "044 668 18 12"), ("mobile", "079 1")))
    with world.session() as session:
        phone, mobile = session.get(Address, anna_id).channels
        phone_id, mobile_id = phone.id, mobile.id
    csrf = log_in(world.client, "ben")
    form = world.client.get(f"/addresses/{anna_id}/edit").text
    assert f'name="ch_id" value="{phone_id}"' in form
    response = post(
        world.client,
        f"/addresses/{anna_id}/edit",
        csrf,
        kind="contact",
        first_name="Anna",
        last_name="Müller-Graf",
        company="Muster AG",
        ch_id=[str(phone_id), ""],
        ch_kind=["phone", "mobile"],
        ch_value=["+41 44 668 18 99", "079 555 66 77"],
        ch_label=["Direct", ""],
    )
    assert response.status_code == 303, response.text
    with world.session() as session:
        address = session.get(Address, anna_id)
        assert address is not None and address.last_name == "Müller-Graf"
        assert [(c.id == phone_id, c.e164) for c in address.channels] == [
            (True, "+41446681899"),
            (False, "+41795556677"),
        ]
        assert session.get(Channel, mobile_id) is None


def test_only_admins_delete_addresses_after_confirming(world: World) -> None:
    anna_id = make_address(world)
    csrf = log_in(world.client, "ben")
    assert world.client.get(f"/addresses/{anna_id}/delete").status_code == 403
    assert post(world.client, f"/addresses/{anna_id}/delete", csrf).status_code == 403
    world.client.cookies.clear()
    csrf = log_in(world.client, "anna")
    confirm = world.client.get(f"/addresses/{anna_id}/delete")
    assert confirm.status_code == 200 and "Delete Anna Müller, Muster AG?" in confirm.text
    assert post(world.client, f"/addresses/{anna_id}/delete", csrf).status_code == 303
    with world.session() as session:
        assert session.get(Address, anna_id) is None


def test_address_created_from_a_journal_entry_takes_the_call(world: World) -> None:
    call_id = make_call(world, world.ben_line, number="+41 31 555 12 34")
    other_call = make_call(world, world.anna_line, number="+41 31 555 12 34", ref="c2")
    csrf = log_in(world.client, "ben")
    form = world.client.get("/addresses/new", params={"number": "031 555 12 34", "call": call_id})
    assert f'name="call_id" value="{call_id}"' in form.text
    response = post(
        world.client,
        "/addresses/new",
        csrf,
        call_id=str(call_id),
        kind="person",
        first_name="Urs",
        last_name="Berner",
        ch_id="",
        ch_kind="phone",
        ch_value="031 555 12 34",
        ch_label="",
    )
    assert response.status_code == 303
    with world.session() as session:
        urs = session.scalar(select(Address).where(Address.last_name == "Berner"))
        call = session.get(Call, call_id)
        assert urs is not None and call is not None
        assert (call.address_id, call.channel_id, call.match, call.address_chosen) == (
            urs.id,
            urs.channels[0].id,
            "exact",
            True,
        )
    # Somebody else's call is never touched, even when its id is sent.
    post(
        world.client,
        "/addresses/new",
        csrf,
        call_id=str(other_call),
        kind="person",
        last_name="Sneaky",
        ch_id="",
        ch_kind="phone",
        ch_value="031 555 12 34",
        ch_label="",
    )
    with world.session() as session:
        assert session.get(Call, other_call).address_chosen is False


def test_caller_data_is_escaped_on_address_and_call_pages(world: World) -> None:
    evil = make_address(
        world, "person", first=XSS, last="Evil", numbers=(("phone", "044 999 88 77"),)
    )
    call_id = make_call(world, world.ben_line, number="+41 61 000 11 22", name=XSS)
    known_call = make_call(world, world.ben_line, number="+41449998877", ref="c2")
    log_in(world.client, "ben")
    pages = [
        world.client.get(f"/addresses/{evil}").text,
        world.client.get("/addresses", params={"q": "Evil"}).text,
        world.client.get("/calls").text,
        world.client.get(f"/calls/{call_id}").text,
        world.client.get(f"/calls/{known_call}").text,
        world.client.get("/activities/new", params={"call": known_call}).text,
    ]
    for page in pages:
        assert XSS not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- activities ------------------------------------------------------------------------------


def test_activity_from_a_call_is_prefilled_and_linked(world: World) -> None:
    anna_id = make_address(world)
    call_id = make_call(world, world.ben_line)
    csrf = log_in(world.client, "ben")
    form = world.client.get("/activities/new", params={"call": call_id}).text
    # Written in the user's language and formats (English: the browser asks for none here).
    text = (
        "Incoming call on Nov 26, 2026 at 9:41\u202fAM from 044 668 18 12"
        " (Anna Müller, Muster AG), lasting 4:12."
    )
    assert text in form
    german = world.client.get(
        "/activities/new", params={"call": call_id}, headers={"Accept-Language": "de-CH"}
    ).text
    assert (
        "Eingehender Anruf am 26.11.2026 um 09:41 von 044 668 18 12"
        " (Anna Müller, Muster AG), Dauer 4:12."
    ) in german
    assert 'value="Incoming call"' in form
    assert f'name="address_id" value="{anna_id}"' in form
    assert 'value="26.11.2026"' in form and 'value="09:41"' in form
    response = post(
        world.client,
        "/activities/new",
        csrf,
        call_id=str(call_id),
        address_id=str(anna_id),
        address_name="Anna Müller, Muster AG",
        project_id="",
        day="26.11.2026",
        time="09:41",
        subject="Incoming call",
        text=text,
    )
    assert response.status_code == 303, response.text
    with world.session() as session:
        activity = session.scalar(select(Activity))
        assert activity is not None
        assert (activity.call_id, activity.address_id, activity.user_id) == (
            call_id,
            anna_id,
            world.ben,
        )
        assert activity.occurred_at == START  # the call's start, to the second
    assert "Incoming call" in world.client.get(response.headers["location"]).text


def test_missed_and_outgoing_calls_read_as_such(world: World) -> None:
    missed = make_call(world, world.ben_line, number="+49 30 1234567", talk=None)
    out = make_call(world, world.ben_line, direction=Direction.OUTGOING, ref="c2", talk=None)
    log_in(world.client, "ben")
    page = world.client.get("/activities/new", params={"call": missed}).text
    assert 'value="Missed call"' in page
    assert "Missed call on Nov 26, 2026 at 9:41\u202fAM from +49 30 1234567." in page
    page = world.client.get("/activities/new", params={"call": out}).text
    assert 'value="Outgoing call"' in page
    assert "Outgoing call on Nov 26, 2026 at 9:41\u202fAM to 044 668 18 12, not answered." in page


def test_activities_are_private_to_their_user(world: World) -> None:
    anna_call = make_call(world, world.anna_line)
    with world.session() as session:
        mine = Activity(user_id=world.anna, occurred_at=START, subject="Anna's note")
        session.add(mine)
        session.flush()
        activity_id = mine.id
    csrf = log_in(world.client, "ben")
    not_mine = world.client.get("/activities/new", params={"call": anna_call})
    assert not_mine.status_code == 404
    assert not_mine.json() == {"detail": "There is no such call in your journal."}
    page = world.client.get(
        "/activities/new", params={"call": anna_call}, headers={"accept": "text/html"}
    )
    assert page.status_code == 404
    assert "There is no such call in your journal." in page.text
    assert (
        post(
            world.client,
            "/activities/new",
            csrf,
            call_id=str(anna_call),
            day="26.11.2026",
            time="09:41",
            subject="x",
        ).status_code
        == 404
    )
    assert world.client.get(f"/activities/{activity_id}").status_code == 404
    assert world.client.get(f"/activities/{activity_id}/edit").status_code == 404
    assert (
        post(
            world.client,
            f"/activities/{activity_id}/edit",
            csrf,
            subject="mine now",
            day="26.11.2026",
            time="10:00",
        ).status_code
        == 404
    )
    assert post(world.client, f"/activities/{activity_id}/delete", csrf).status_code == 404
    assert "Anna&#39;s note" not in world.client.get("/activities").text
    world.client.cookies.clear()
    csrf = log_in(world.client, "anna")
    assert "Anna&#39;s note" in world.client.get("/activities").text
    response = post(
        world.client,
        f"/activities/{activity_id}/edit",
        csrf,
        subject="Changed",
        day="26.11.2026",
        time="10:15",
        text="",
        address_id="",
        address_name="",
    )
    assert response.status_code == 303
    with world.session() as session:
        changed = session.get(Activity, activity_id)
        assert changed is not None and changed.subject == "Changed"
        assert changed.occurred_at == datetime(2026, 11, 26, 9, 15, tzinfo=UTC)
    assert post(world.client, f"/activities/{activity_id}/delete", csrf).status_code == 303
    with world.session() as session:
        assert session.get(Activity, activity_id) is None


def test_activity_form_errors_keep_the_input(world: World) -> None:
    csrf = log_in(world.client, "ben")
    response = post(
        world.client,
        "/activities/new",
        csrf,
        subject="",
        day="31.02.2026",
        time="25:00",
        text="Keep this text",
        address_name="Somebody",
        address_id="",
    )
    assert response.status_code == 422
    page = response.text
    assert "Please enter the subject." in page
    assert "is no date" in page and "is no time of day" in page
    assert "Choose the address from the list" in page
    assert "Keep this text" in page and 'value="Somebody"' in page


def test_activities_list_filters_by_date_and_pages(world: World) -> None:
    with world.session() as session:
        session.add_all(
            Activity(user_id=world.ben, occurred_at=START - timedelta(days=i), subject=f"Note {i}")
            for i in range(60)
        )
    log_in(world.client, "ben")
    page = world.client.get("/activities").text
    assert "Note 0<" in page and "Note 49<" in page and "Note 50<" not in page
    assert "Note 50<" in world.client.get("/activities", params={"page": 2}).text
    one_day = world.client.get("/activities", params={"from": "2026-11-25", "to": "25.11.2026"})
    assert "Note 1<" in one_day.text and "Note 0<" not in one_day.text
    assert "Note 2<" not in one_day.text


# --- services --------------------------------------------------------------------------------


def service_type(world: World, *, default: bool = True) -> int:
    with world.session() as session:
        kind = ServiceType(code="TEL", name="Telephone call")
        session.add(kind)
        session.flush()
        if default:
            settings = TelephonySettings.load(session).model_copy(
                update={"service_type_id": kind.id}
            )
            settings.save(session)
        return kind.id


def test_service_from_a_call_runs_exactly_from_connect_to_end(world: World) -> None:
    anna_id = make_address(world)
    with world.session() as session:
        company_id = session.get(Address, anna_id).company_id
        session.add_all(
            [
                Project(code="ZZ-OTHER", description="Someone else's"),
                Project(code="MUS-1", description="Annual accounts", customer_id=company_id),
            ]
        )
    kind_id = service_type(world)
    call_id = make_call(world, world.ben_line)
    csrf = log_in(world.client, "ben")
    form = world.client.get("/services/new", params={"call": call_id}).text
    # Shown in the firm's zone; 4:12 min are billed as 5 (rounded up to 5 minutes).
    assert 'name="start" value="09:41"' in form and 'name="end" value="09:45"' in form
    assert 'name="minutes" value="5"' in form and "rounded up to 5 minutes" in form
    assert f'<option value="{kind_id}" selected>' in form
    assert form.index("MUS-1") < form.index("ZZ-OTHER")  # the caller's projects first
    assert "Projects of Anna Müller, Muster AG" in form
    with world.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.code == "MUS-1"))
    fields = {
        "call_id": str(call_id),
        "address_id": str(anna_id),
        "address_name": "x",
        "project_id": str(project_id),
        "service_type_id": str(kind_id),
        "day": "26.11.2026",
        "start": "09:41",
        "end": "09:45",
        "minutes": "5",
        "text": "Talked about the accounts",
    }
    response = post(world.client, "/services/new", csrf, **fields)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/services?day=2026-11-26"
    with world.session() as session:
        service = session.scalar(select(Service))
        call = session.get(Call, call_id)
        assert service is not None and call is not None
        assert service.started_at == call.connected_at and service.ended_at == call.ended_at
        assert call.connected_at == START + timedelta(seconds=7, milliseconds=500)
        assert (service.minutes, service.call_id, service.project_id, service.user_id) == (
            5,
            call_id,
            project_id,
            world.ben,
        )
    day = world.client.get("/services", params={"day": "2026-11-26"}).text
    assert "Talked about the accounts" in day and "MUS-1" in day
    assert "9:41\u202fAM–9:45\u202fAM" in day
    # A second service for the same call is allowed, with a warning first.
    again = world.client.get("/services/new", params={"call": call_id}).text
    assert "You already entered a service for this call" in again
    assert f'href="/services/{service.id}"' in again


def test_service_needs_a_connected_call(world: World) -> None:
    missed = make_call(world, world.ben_line, talk=None)
    log_in(world.client, "ben")
    response = world.client.get(
        "/services/new", params={"call": missed}, headers={"accept": "text/html"}
    )
    assert response.status_code == 409
    assert "was not connected" in response.text


def test_service_of_somebody_elses_call_is_not_found(world: World) -> None:
    anna_call = make_call(world, world.anna_line)
    log_in(world.client, "ben")
    assert world.client.get("/services/new", params={"call": anna_call}).status_code == 404


def test_manual_service_validation(world: World) -> None:
    kind_id = service_type(world)
    with world.session() as session:
        closed = Project(code="OLD", description="Closed", active=False)
        session.add(closed)
        session.flush()
        closed_id = closed.id
    csrf = log_in(world.client, "ben")
    base = {"service_type_id": str(kind_id), "day": "26.11.2026", "text": "Typed text"}
    cases = [
        ({"start": "10:00", "end": "09:00"}, "“To” must be after “from”."),
        ({"start": "10:00"}, "Enter both from and to"),
        ({"minutes": "1441"}, "between 0 and 1440"),
        ({"minutes": "-1"}, "between 0 and 1440"),
        ({}, "Enter the minutes, or from and to."),
        ({"minutes": "10", "project_id": str(closed_id)}, "Project OLD is closed"),
        ({"minutes": "10", "day": "tomorrow"}, "is no date"),
        ({"minutes": "10", "service_type_id": ""}, "Choose the type of service."),
    ]
    for extra, message in cases:
        response = post(world.client, "/services/new", csrf, **(base | extra))
        assert response.status_code == 422, extra
        assert message in response.text, (extra, response.text)
        assert "Typed text" in response.text
    with world.session() as session:
        assert session.scalar(select(Service)) is None


def test_manual_service_and_my_day(world: World) -> None:
    kind_id = service_type(world)
    csrf = log_in(world.client, "ben")
    for start, end, minutes in (("08:00", "09:30", ""), ("", "", "15")):
        response = post(
            world.client,
            "/services/new",
            csrf,
            service_type_id=str(kind_id),
            day="26.11.2026",
            start=start,
            end=end,
            minutes=minutes,
            text=f"Work {start}",
        )
        assert response.status_code == 303, response.text
    with world.session() as session:
        timed = session.scalar(select(Service).where(Service.text == "Work 08:00"))
        assert timed is not None and timed.minutes == 90
        assert timed.started_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    page = world.client.get("/services", params={"day": "26.11.2026"}).text
    assert "1:45 h" in page  # the day's total
    assert 'href="/services?day=2026-11-25"' in page and 'href="/services?day=2026-11-27"' in page
    assert "My services today" in world.client.get("/services").text


def test_editing_a_service_keeps_the_call_times_to_the_second(world: World) -> None:
    kind_id = service_type(world)
    call_id = make_call(world, world.ben_line)
    csrf = log_in(world.client, "ben")
    fields = {
        "call_id": str(call_id),
        "service_type_id": str(kind_id),
        "day": "26.11.2026",
        "start": "09:41",
        "end": "09:45",
        "minutes": "5",
        "text": "first",
    }
    assert post(world.client, "/services/new", csrf, **fields).status_code == 303
    with world.session() as session:
        service = session.scalar(select(Service))
        assert service is not None
    edit = world.client.get(f"/services/{service.id}/edit").text
    assert 'value="09:41"' in edit and "first" in edit
    fields |= {"text": "second", "minutes": "10"}
    assert post(world.client, f"/services/{service.id}/edit", csrf, **fields).status_code == 303
    with world.session() as session:
        again = session.get(Service, service.id)
        assert again is not None and again.text == "second" and again.minutes == 10
        assert again.started_at == service.started_at and again.ended_at == service.ended_at
    fields |= {"end": "10:00", "minutes": ""}
    assert post(world.client, f"/services/{service.id}/edit", csrf, **fields).status_code == 303
    with world.session() as session:
        moved = session.get(Service, service.id)
        assert moved is not None and moved.started_at == service.started_at
        assert moved.ended_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
        assert moved.minutes == 20  # 18:49.5 from the connect, rounded up to 5 minutes


def test_services_are_private_to_their_user(world: World) -> None:
    with world.session() as session:
        theirs = Service(user_id=world.anna, day=START.date(), minutes=30, text="Anna's work")
        session.add(theirs)
        session.flush()
        service_id = theirs.id
    csrf = log_in(world.client, "ben")
    for url in (
        f"/services/{service_id}",
        f"/services/{service_id}/edit",
        f"/services/{service_id}/delete",
    ):
        assert world.client.get(url).status_code == 404, url
    assert post(world.client, f"/services/{service_id}/delete", csrf).status_code == 404
    assert (
        post(
            world.client, f"/services/{service_id}/edit", csrf, minutes="1", day="26.11.2026"
        ).status_code
        == 404
    )
    assert "Anna&#39;s work" not in world.client.get("/services?day=2026-11-26").text
    world.client.cookies.clear()
    log_in(world.client, "anna")
    assert world.client.get(f"/services/{service_id}").status_code == 200
    assert (
        post(
            world.client, f"/services/{service_id}/delete", log_in(world.client, "anna")
        ).status_code
        == 303
    )


# --- projects ----------------------------------------------------------------------------------


def test_projects_list_with_customers_and_totals(world: World) -> None:
    company = make_address(world, "company", company="Muster AG", numbers=())
    with world.session() as session:
        active = Project(code="MUS-1", description="Annual accounts", customer_id=company)
        closed = Project(code="OLD-1", description="Long done", active=False)
        session.add_all([active, closed])
        session.flush()
        session.add_all(
            [
                Service(user_id=world.ben, project_id=active.id, day=START.date(), minutes=45),
                Service(user_id=world.anna, project_id=active.id, day=START.date(), minutes=30),
            ]
        )
        active_id = active.id
    log_in(world.client, "ben")
    page = world.client.get("/projects").text
    assert "MUS-1" in page and "OLD-1" not in page
    assert f'class="addr " href="/addresses/{company}"' in page and "1:15 h" in page
    assert "OLD-1" in world.client.get("/projects", params={"state": "closed"}).text
    assert "MUS-1" in world.client.get("/projects", params={"q": "muster"}).text
    assert "MUS-1" not in world.client.get("/projects", params={"q": "nothing"}).text
    detail = world.client.get(f"/projects/{active_id}").text
    assert "1:15 h" in detail and "45 min" in detail  # in total, and by Ben
    assert "/edit" not in detail  # only admins edit projects


def test_admins_create_projects_with_unique_codes(world: World) -> None:
    company = make_address(world, "company", company="Muster AG", numbers=())
    csrf = log_in(world.client, "ben")
    assert world.client.get("/projects/new").status_code == 403
    assert post(world.client, "/projects/new", csrf, code="X").status_code == 403
    world.client.cookies.clear()
    csrf = log_in(world.client, "anna")
    response = post(
        world.client,
        "/projects/new",
        csrf,
        code="MUS-1",
        description="Accounts",
        address_id=str(company),
        address_name="Muster AG",
        active="on",
    )
    assert response.status_code == 303, response.text
    again = post(
        world.client,
        "/projects/new",
        csrf,
        code="mus-1",
        description="Twice",
        address_id="",
        address_name="",
        active="on",
    )
    assert again.status_code == 422
    assert "The code MUS-1 is already used by “Accounts”" in again.text
    assert 'value="Twice"' in again.text
    with world.session() as session:
        project = session.scalar(select(Project))
        assert project is not None and project.customer_id == company and project.active
    response = post(
        world.client,
        f"/projects/{project.id}/edit",
        csrf,
        code="MUS-1",
        description="Accounts 2026",
        address_id="",
        address_name="",
    )
    assert response.status_code == 303
    with world.session() as session:
        edited = session.get(Project, project.id)
        assert edited is not None and edited.description == "Accounts 2026"
        assert not edited.active and edited.customer_id is None


# --- the call history -------------------------------------------------------------------------


def test_call_history_shows_own_calls_with_filters(world: World) -> None:
    make_address(world)
    known = make_call(world, world.ben_line)
    missed = make_call(
        world,
        world.ben_line,
        number="+49 30 1234567",
        talk=None,
        ref="c2",
        start=START + timedelta(hours=1),
    )
    out = make_call(
        world,
        world.ben_line,
        number="+41 31 555 12 34",
        direction=Direction.OUTGOING,
        ref="c3",
        start=START - timedelta(days=3),
    )
    theirs = make_call(world, world.anna_line, number="+41 31 555 99 99", ref="c4")
    log_in(world.client, "ben")
    page = world.client.get("/calls").text

    def rows(html: str) -> list[int]:
        return [int(i) for i in re.findall(r'<td class="num nowrap"><a href="/calls/(\d+)"', html)]

    assert rows(page) == [missed, known, out]  # newest first, only Ben's
    assert 'aria-label="Incoming call"' in page and 'aria-label="Outgoing call"' in page
    assert 'href="#i-incoming"' in page and 'href="#i-outgoing"' in page
    assert "044 668 18 12" in page  # as entered in the address
    assert "+49 30 1234567" in page  # a foreign number, international
    assert "031 555 12 34" in page  # a home number, national
    assert 'title="Anna Müller\nMuster AG\nBahnhofstrasse 12\n8001 Zürich"' in page
    assert "4:12" in page and "Missed" in page
    get = world.client.get
    assert rows(get("/calls", params={"direction": "outgoing"}).text) == [out]
    assert rows(get("/calls", params={"outcome": "missed"}).text) == [missed]
    assert rows(get("/calls", params={"q": "Müller"}).text) == [known]
    assert rows(get("/calls", params={"q": "031 555 12 34"}).text) == [out]
    assert rows(get("/calls", params={"q": "+41315551234"}).text) == [out]
    assert rows(get("/calls", params={"from": "2026-11-26", "to": "2026-11-26"}).text) == [
        missed,
        known,
    ]
    # Asking for somebody else's calls shows one's own.
    assert rows(get("/calls", params={"of": world.anna}).text) == [missed, known, out]
    assert get(f"/calls/{theirs}").status_code == 404


def test_admin_picks_whose_calls_to_see(world: World) -> None:
    theirs = make_call(world, world.ben_line)
    log_in(world.client, "anna")
    assert f'href="/calls/{theirs}"' not in world.client.get("/calls").text
    page = world.client.get("/calls", params={"of": world.ben}).text
    assert f'href="/calls/{theirs}"' in page and "Calls of Ben User" in page
    assert world.client.get(f"/calls/{theirs}").status_code == 200


def test_call_page_shows_timestamps_reference_and_event_log(world: World) -> None:
    make_address(world)
    call_id = make_call(world, world.ben_line, ref="sip-call-id-4711")
    with world.session() as session:  # a duplicate event arrives late
        record(
            session,
            CallEvent(
                world.ben_line,
                "sip-call-id-4711",
                Direction.INCOMING,
                CallState.RINGING,
                START,
                "+41446681812",
            ),
        )
    log_in(world.client, "ben")
    page = world.client.get(f"/calls/{call_id}").text
    assert "sip-call-id-4711" in page
    assert "Nov 26, 2026 9:41:03\u202fAM" in page  # rang
    assert "Nov 26, 2026 9:41:10\u202fAM" in page  # connected
    assert "Nov 26, 2026 9:45:22\u202fAM" in page  # ended
    assert "Answered" in page and "4:12" in page
    assert page.count("changed the call") == 3 and page.count("no change") == 1
    assert f'href="/services/new?call={call_id}"' in page


def test_address_search_and_pages_on_both_databases(store: Store) -> None:
    """The search's case folding and its pages by position differ per database."""
    settings = TelephonySettings(country="CH")
    with store.session() as session:
        company = Address(kind="company", company_name="Ärztehaus Zürich", city="Zürich")
        session.add(company)
        session.flush()
        session.add_all(
            Address(
                kind="contact", first_name="Eva", last_name=f"Müller {i:03d}", company_id=company.id
            )
            for i in range(60)
        )
    with store.session() as session:
        found, _ = search(session, "ärzte", settings)
        assert found.items[0].company_name == "Ärztehaus Zürich"  # and its contact persons
        assert len(found.items) == 50 and found.has_next and not found.has_prev
        first, _ = search(session, "MÜLLER", settings)
        second, _ = search(session, "müller", settings, after=first.last_id)
        assert [a.last_name for a in second.items] == [f"Müller {i:03d}" for i in range(50, 60)]
        assert second.has_prev and not second.has_next
        back, _ = search(session, "müller", settings, before=second.first_id)
        assert [a.id for a in back.items] == [a.id for a in first.items] and not back.has_prev
        assert search(session, "50%_", settings)[0].items == []  # LIKE wildcards are text


def test_address_queries_are_served_by_indexes(world: World) -> None:
    """With a million addresses only indexed reads are fast enough: the name search uses the
    indexes on lower(column) that migration 0003 creates."""
    settings = TelephonySettings(country="CH")

    def plan(q: str, anchor: bool = False) -> str:
        query, _ = search_query(q, settings, "sqlite")
        query = query.with_only_columns(Address.id).order_by(*SORT_KEY).limit(51)
        if anchor:
            query = query.where(tuple_(*SORT_KEY) > tuple_("muller anna", 12))
        with world.store.engine.connect() as connection:
            compiled = query.compile(world.store.engine, compile_kwargs={"literal_binds": True})
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").fetchall()
        return " | ".join(str(row[-1]) for row in rows)

    listing = plan("", anchor=True)
    assert "ix_addresses_sort" in listing and "SCAN addresses" not in listing, listing
    by_name = plan("Mül")
    assert "ix_addresses_last_name_lower" in by_name, by_name
    assert "ix_addresses_city_lower" in by_name, by_name
    assert "SCAN addresses" not in by_name, by_name
    by_number = plan("044 668 18 12")
    assert "ix_channels_e164" in by_number, by_number


def test_address_list_is_alphabetical_across_people_and_companies(store: Store) -> None:
    """People by last name and companies by name, in one alphabet, as people read it (case and
    accents aside); renaming an address moves it."""
    settings = TelephonySettings(country="CH")
    with store.session() as session:
        session.add_all(
            [
                Address(kind="company", company_name="Zürcher Bau AG"),
                Address(kind="person", first_name="Anna", last_name="Müller"),
                Address(kind="company", company_name="Ärztehaus Basel"),
                Address(kind="person", first_name="beat", last_name="meier"),
                Address(kind="person", first_name="Anna", last_name="Mueller"),
                Address(kind="company", company_name="müller & co"),
            ]
        )
    with store.session() as session:
        page, _ = search(session, "", settings)
        names = [a.company_name or f"{a.last_name}, {a.first_name}" for a in page.items]
        assert names == [
            "Ärztehaus Basel",
            "meier, beat",
            "Mueller, Anna",
            "müller & co",
            "Müller, Anna",
            "Zürcher Bau AG",
        ]
        page.items[0].company_name = "Zahnarztpraxis Basel"
    with store.session() as session:
        page, _ = search(session, "", settings)
        assert [a.company_name for a in page.items][-2:] == [
            "Zahnarztpraxis Basel",
            "Zürcher Bau AG",
        ]
