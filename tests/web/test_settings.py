"""Settings: Telephony takes effect at once; extensions and Auto Load; lines; users; profile."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from offhook.lines.admin import install_driver
from offhook.settings.telephony import TelephonySettings
from offhook.settings.users import add_user
from offhook.store import Store
from offhook.store.models import ApiToken, Call, InstalledDriver, Line, PhoneSystem, User
from tests import factories
from tests.web.conftest import log_in
from tests.web.test_journal import journal, simulate, wait_for


def form_post(client: TestClient, url: str, csrf: str, **data: str) -> int:
    response = client.post(url, data={"csrf_token": csrf, **data})
    return response.status_code


def telephony_form(**overrides: str) -> dict[str, str]:
    values = {
        "country": "CH",
        "area_code": "44",
        "outside_line": "",
        "internal_max_length": "4",
        "service_type_id": "",
        "rounding_step": "5",
        "rounding_mode": "up",
        "rounding_minimum": "0",
        "timezone": "Europe/Zurich",
    }
    return {**values, **overrides}


def test_telephony_settings_apply_without_restart(
    serve: Callable[[], TestClient], store: Store
) -> None:
    factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    simulate(client, csrf, number="+41 44 668 18 12", outcome="missed", ring_seconds=0)
    wait_for(lambda: journal(client) and journal(client)[0]["state"] == "ended", "the call")
    assert journal(client)[0]["number"]["display"] == "044 668 18 12"

    # Home country Germany: the Swiss number is now foreign and shown internationally.
    assert (
        form_post(
            client,
            "/settings/telephony",
            csrf,
            **telephony_form(country="DE", area_code="30", rounding_step="15"),
        )
        == 303
    )
    assert journal(client)[0]["number"]["display"] == "+41 44 668 18 12"
    with store.session() as session:
        settings = TelephonySettings.load(session)
    assert (settings.country, settings.rounding_step) == ("DE", 15)


def test_bad_telephony_settings_are_refused_with_reasons(
    serve: Callable[[], TestClient], store: Store
) -> None:
    factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    response = client.post(
        "/settings/telephony",
        data={"csrf_token": csrf, **telephony_form(country="Swiss", timezone="Mars/Base")},
    )
    assert response.status_code == 422
    assert "two-letter country code" in response.text
    assert "unknown time zone" in response.text
    assert 'value="Swiss"' in response.text  # the input is kept for correcting
    with store.session() as session:
        assert TelephonySettings.load(session).country == "CH"


def test_only_admins_change_settings(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store, "ben", role="user")
    client = serve()
    csrf = log_in(client, "ben")
    assert client.get("/settings/telephony").status_code == 403
    assert form_post(client, "/settings/telephony", csrf, **telephony_form(country="DE")) == 403
    assert client.get("/settings/extensions").status_code == 403
    assert form_post(client, "/settings/users", csrf, login="x", password="12345678") == 403
    assert client.get("/settings/lines").status_code == 200  # their own lines


def test_without_auto_load_a_line_gets_no_calls_after_restart(
    serve: Callable[[], TestClient], store: Store
) -> None:
    factories.user_with_line(store, auto_load=False)
    client = serve()  # the server starts: the simulator is installed but not auto-loaded
    csrf = log_in(client, "anna")
    refused = client.post(
        "/api/drivers/simulator/calls",
        json={"number": "0446681812"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 409
    assert "not loaded" in refused.json()["detail"]
    page = client.get("/settings/extensions")
    assert "Load now" in page.text and "Simulated phone system" in page.text
    # Loading it by hand starts its lines until the server stops.
    assert form_post(client, "/settings/extensions/simulator/load", csrf) == 303
    simulate(client, csrf, number="0446681812")
    wait_for(lambda: journal(client), "the call once the driver is loaded")


def test_driver_install_and_auto_load_from_the_page(
    serve: Callable[[], TestClient], store: Store
) -> None:
    with store.session() as session:
        add_user(session, "anna", "Anna", factories.PASSWORD, "admin")
    client = serve()
    csrf = log_in(client, "anna")
    assert form_post(client, "/settings/extensions/simulator/install", csrf) == 303
    assert (
        form_post(client, "/settings/extensions/simulator/auto-load", csrf, auto_load="on") == 303
    )
    # After a reload, what was saved is what the page shows.
    page = client.get("/settings/extensions").text
    assert 'name="auto_load" checked' in page
    with store.session() as session:
        row = session.get(InstalledDriver, "simulator")
        assert row is not None and row.installed and row.auto_load
    assert form_post(client, "/settings/extensions/simulator/auto-load", csrf) == 303
    with store.session() as session:
        row = session.get(InstalledDriver, "simulator")
        assert row is not None and not row.auto_load
    assert form_post(client, "/settings/extensions/nonexistent/install", csrf) == 303
    assert "no driver named" in client.get("/settings/extensions").text


def test_admin_sets_up_a_phone_system_with_lines_and_a_ring_group(
    serve: Callable[[], TestClient], store: Store
) -> None:
    """As an admin would: a phone system once, then each user's extension on it; a call to its
    ring group rings in both journals, and when one answers the other sees it answered
    elsewhere."""
    with store.session() as session:
        install_driver(session, "simulator", auto_load=True)
        anna = add_user(session, "anna", "Anna Keller", factories.PASSWORD, "admin")
        ben = add_user(session, "ben", "Ben Frei", factories.PASSWORD, "user")
        anna_id, ben_id = anna.id, ben.id
    client = serve()
    csrf = log_in(client, "anna")
    form = client.get("/settings/phone-systems/new?driver=simulator")
    assert form.status_code == 200 and "Ring groups" in form.text
    bad = client.post(
        "/settings/phone-systems",
        data={"csrf_token": csrf, "driver": "simulator", "name": "PBX", "opt.answer_after": "soon"},
    )
    assert bad.status_code == 422 and "answer_after" in bad.text
    bad_json = client.post(
        "/settings/phone-systems",
        data={"csrf_token": csrf, "driver": "simulator", "name": "PBX", "opt.ring_groups": "{x"},
    )
    assert bad_json.status_code == 422 and "not valid JSON" in bad_json.text
    created = client.post(
        "/settings/phone-systems",
        data={
            "csrf_token": csrf,
            "driver": "simulator",
            "name": "Office PBX",
            "opt.answer_after": "1",
            "opt.ring_groups": '{"600": ["201", "202"]}',
        },
    )
    assert created.status_code == 303
    with store.session() as session:
        system = session.scalars(select(PhoneSystem)).one()
        assert system.options["ring_groups"] == {"600": ["201", "202"]}
        system_id = system.id
    for user_id, extension in ((anna_id, "201"), (ben_id, "202")):
        added = form_post(
            client,
            "/settings/lines",
            csrf,
            user_id=str(user_id),
            phone_system_id=str(system_id),
            address=extension,
            label=f"Desk {extension}",
        )
        assert added == 303
    page = client.get(f"/settings/phone-systems/{system_id}").text
    assert "Desk 201" in page and "Desk 202" in page
    status = client.get("/api/journal").json()["lines"]
    assert [s["state"] for s in status] == ["connected"]

    ringing = client.post(
        "/api/drivers/simulator/calls",
        json={"number": "+41 44 668 18 12", "to": "600"},
        headers={"X-CSRF-Token": csrf},
    ).json()
    assert len(ringing["line_ids"]) == 2
    anna_entry = wait_for(lambda: journal(client), "the group call in anna's journal")[0]
    assert anna_entry["state"] == "ringing"

    client.cookies.clear()  # Ben, at his desk
    ben_csrf = log_in(client, "ben")
    ben_entry = wait_for(lambda: journal(client), "the group call in ben's journal")[0]
    assert ben_entry["state"] == "ringing"
    answered = client.post(
        f"/api/calls/{ben_entry['id']}/answer", headers={"X-CSRF-Token": ben_csrf}
    )
    assert answered.status_code == 200, answered.text
    wait_for(
        lambda: [e for e in journal(client) if e["state"] == "connected"], "ben's call connected"
    )
    client.cookies.clear()  # Anna again
    log_in(client, "anna")
    elsewhere = wait_for(
        lambda: [e for e in journal(client) if e["end_reason"] == "answered_elsewhere"],
        "anna's entry answered elsewhere",
    )[0]
    assert elsewhere["state"] == "ended" and not elsewhere["missed"]
    with store.session() as session:
        call = session.get(Call, elsewhere["id"])
        assert call is not None and call.answered_by_id == ben_id


def test_deleting_a_line_asks_first(serve: Callable[[], TestClient], store: Store) -> None:
    _, line = factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    confirm = client.get(f"/settings/lines/{line.id}/delete")
    assert confirm.status_code == 200 and "call history is deleted" in confirm.text
    assert "onclick" not in client.get("/settings/lines").text  # the CSP would block it
    assert form_post(client, f"/settings/lines/{line.id}/delete", csrf) == 303
    with store.session() as session:
        assert session.get(Line, line.id) is None
        # A simulated phone system serves any number of lines: it stays, without this one.
        system = session.scalars(select(PhoneSystem)).one()
        assert system.lines == []


def test_users_admin_and_password_change(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    assert (
        form_post(
            client,
            "/settings/users",
            csrf,
            login="carla",
            name="Carla Rossi",
            password="carla-password",
            role="user",
            extension="203",
        )
        == 303
    )
    too_short = client.post(
        "/settings/users", data={"csrf_token": csrf, "login": "dora", "password": "short"}
    )
    assert too_short.status_code == 422 and "at least 8" in too_short.text
    with store.session() as session:
        carla = session.scalars(select(User).where(User.login == "carla")).one()
        assert carla.password_hash.startswith("$argon2")
        assert carla.extension == "203"
    # anna changes her password: this session stays, the old password stops working.
    assert (
        form_post(
            client,
            "/settings/profile/password",
            csrf,
            current=factories.PASSWORD,
            password="a-new-password",
            confirm="a-new-password",
        )
        == 303
    )
    assert client.get("/api/journal").status_code == 200
    client.cookies.clear()
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    old = client.post(
        "/login", data={"login": "anna", "password": factories.PASSWORD, "csrf_token": token}
    )
    assert old.status_code == 401
    log_in(client, "anna", "a-new-password")


def test_api_token_from_the_profile_page(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    assert form_post(client, "/settings/profile/tokens", csrf, name="script") == 303
    page = client.get("/settings/profile").text
    token = page.split("data-new-token>")[1].split("<")[0]
    assert token.startswith("ohk_")
    assert "data-new-token" not in client.get("/settings/profile").text  # shown once
    client.cookies.clear()
    assert client.get("/api/journal", headers={"Authorization": f"Bearer {token}"}).is_success


def test_one_route_per_change_of_a_user(serve: Callable[[], TestClient], store: Store) -> None:
    anna, _ = factories.user_with_line(store)
    ben, _ = factories.user_with_line(store, "ben", role="user")
    client = serve()
    csrf = log_in(client, "anna")
    assert form_post(client, f"/settings/users/{ben.id}/role", csrf, role="admin") == 303
    assert form_post(client, f"/settings/users/{ben.id}/deactivate", csrf) == 303
    with store.session() as session:
        changed = session.get(User, ben.id)
        assert changed is not None and changed.role == "admin" and not changed.active
    assert form_post(client, f"/settings/users/{ben.id}/role", csrf, role="root") == 303
    assert form_post(client, f"/settings/users/{ben.id}/activate", csrf) == 303
    assert (
        form_post(client, f"/settings/users/{ben.id}/password", csrf, password="ben-new-pw") == 303
    )
    # An admin cannot demote or deactivate themselves; a user that does not exist is not found.
    assert form_post(client, f"/settings/users/{anna.id}/deactivate", csrf) == 303
    assert form_post(client, "/settings/users/999999/role", csrf, role="admin") == 404
    with store.session() as session:
        changed = session.get(User, ben.id)
        me = session.get(User, anna.id)
        assert changed is not None and changed.role == "user" and changed.active
        assert me is not None and me.active and me.role == "admin"
    # The old form `action` dispatch is gone: nothing answers it.
    assert form_post(client, f"/settings/users/{ben.id}", csrf, action="deactivate") == 404
    assert form_post(client, "/settings/profile", csrf, action="token") == 405
    client.cookies.clear()
    log_in(client, "ben", "ben-new-pw")


def test_tokens_are_revoked_by_their_owner_only(
    serve: Callable[[], TestClient], store: Store
) -> None:
    factories.user_with_line(store)
    factories.user_with_line(store, "ben", role="user")
    client = serve()
    csrf = log_in(client, "anna")
    assert form_post(client, "/settings/profile/tokens", csrf, name="script") == 303
    with store.session() as session:
        token = session.scalars(select(ApiToken)).one()
    client.cookies.clear()
    other_csrf = log_in(client, "ben")
    assert form_post(client, f"/settings/profile/tokens/{token.id}/delete", other_csrf) == 303
    assert "No such token." in client.get("/settings/profile").text
    client.cookies.clear()
    csrf = log_in(client, "anna")
    assert form_post(client, f"/settings/profile/tokens/{token.id}/delete", csrf) == 303
    assert "Token revoked." in client.get("/settings/profile").text
    with store.session() as session:
        assert session.scalars(select(ApiToken)).all() == []
