"""Settings › Lines for a user whose line is on the team's phone system: restarting it would
restart the colleagues' lines too, so that is the admin's call."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store
from tests import factories
from tests.web.conftest import log_in
from tests.web.test_journal import journal, simulate, wait_for


def test_a_shared_phone_system_is_restarted_by_an_admin_only(
    serve: Callable[[], TestClient], store: Store
) -> None:
    with store.session() as session:
        install_driver(session, "simulator", auto_load=True)
        anna = add_user(session, "anna", "Anna", factories.PASSWORD, "admin")
        ben = add_user(session, "ben", "Ben", factories.PASSWORD, "user")
        pbx = add_phone_system(session, "simulator", "Office PBX")
        add_line(session, anna, pbx, "201")
        ben_line = add_line(session, ben, pbx, "202").id
    client = serve()
    csrf = log_in(client, "ben")
    page = client.get("/settings/lines").text
    assert f'/settings/lines/{ben_line}/restart"' not in page
    refused = client.post(f"/settings/lines/{ben_line}/restart", data={"csrf_token": csrf})
    assert refused.status_code == 403
    client.cookies.clear()
    csrf = log_in(client, "anna")
    assert f'/settings/lines/{ben_line}/restart"' in client.get("/settings/lines").text
    done = client.post(f"/settings/lines/{ben_line}/restart", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert "Line restarted." in client.get("/settings/lines").text
    status = client.get("/api/journal").json()["lines"]
    assert [s["state"] for s in status] == ["connected"]


def test_a_softphone_of_ones_own_is_restarted_by_its_user(
    serve: Callable[[], TestClient], store: Store
) -> None:
    _, line = factories.user_with_line(store, "ben", role="user")
    client = serve()
    csrf = log_in(client, "ben")
    done = client.post(f"/settings/lines/{line.id}/restart", data={"csrf_token": csrf})
    assert done.status_code == 303


def test_switching_a_line_off_ends_its_calls_now(
    serve: Callable[[], TestClient], store: Store
) -> None:
    with store.session() as session:
        install_driver(session, "simulator", auto_load=True)
        anna = add_user(session, "anna", "Anna", factories.PASSWORD, "admin")
        pbx = add_phone_system(session, "simulator", "Office PBX")
        line_id = add_line(session, anna, pbx, "201").id
        add_line(session, anna, pbx, "202")
    client = serve()
    csrf = log_in(client, "anna")
    simulate(
        client, csrf, number="+41446681812", outcome="answered", ring_seconds=0, line_id=line_id
    )
    connected = wait_for(
        lambda: [e for e in journal(client) if e["state"] == "connected"], "the call connected"
    )[0]
    assert (
        client.post(f"/settings/lines/{line_id}/disable", data={"csrf_token": csrf}).status_code
        == 303
    )
    ended = wait_for(
        lambda: [
            e for e in journal(client) if e["id"] == connected["id"] and e["state"] == "ended"
        ],
        "the call ended with its line",
    )[0]
    assert ended["ended_by_offhook"] == "the line was switched off"
    # The phone system's other line goes on.
    states = {s["title"]: s["state"] for s in client.get("/api/journal").json()["lines"]}
    assert states["202"] == "connected"
