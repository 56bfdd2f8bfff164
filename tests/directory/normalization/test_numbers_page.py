"""Settings › Phone numbers: the action, its live progress, its report; runs by itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from offhook.settings.telephony import TelephonySettings
from offhook.store import Store
from offhook.store.models import Channel, Setting
from tests import factories
from tests.web.conftest import log_in


def _wait_until_done(client: TestClient) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        data: dict[str, Any] = client.get("/settings/numbers/progress").json()
        if not data["running"] and data["state"] is not None:
            return data
        time.sleep(0.05)
    raise AssertionError("the normalization did not finish")


def _e164(store: Store, value: str) -> str | None:
    with store.session() as session:
        return session.scalar(select(Channel.e164).where(Channel.value == value))


def _settle(store: Store, **values: Any) -> None:
    """Change the telephony settings behind offhook's back (as another server would)."""
    with store.session() as session:
        row = session.get(Setting, "telephony")
        settings = TelephonySettings.load(session).model_copy(update=values)
        if row is None:
            session.add(Setting(key="telephony", value=settings.model_dump()))
        else:
            row.value = settings.model_dump()


def test_only_admins(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store, "ben", role="user")
    client = serve()
    assert client.get("/settings/numbers").status_code == 303  # to the login
    csrf = log_in(client, "ben")
    assert client.get("/settings/numbers").status_code == 403
    assert client.get("/settings/numbers/progress").status_code == 403
    response = client.post("/settings/numbers/normalize", data={"csrf_token": csrf})
    assert response.status_code == 403


def test_the_report_links_to_the_addresses(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store)
    anna = factories.address(store, numbers=(("phone", "12345"), ("mobile", "unknown")))
    client = serve()
    log_in(client, "anna")
    page = client.get("/settings/numbers")
    assert page.status_code == 200
    assert f'href="/addresses/{anna.id}"' in page.text
    assert "12345" in page.text and "too short" in page.text
    assert "Up to date" in page.text
    script = client.get("/static/numbers-progress.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_the_action_normalizes_with_progress(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store)
    factories.address(store, numbers=(("phone", "668 18 12"),))
    client = serve()
    csrf = log_in(client, "anna")
    _settle(store, area_code="44")  # another server changed it: this one has not noticed
    assert "To do" in client.get("/settings/numbers").text
    response = client.post("/settings/numbers/normalize", data={"csrf_token": csrf})
    assert response.status_code == 303
    done = _wait_until_done(client)
    assert (done["state"], done["done"], done["changed"]) == ("finished", 1, 1)
    assert _e164(store, "668 18 12") == "+41446681812"
    page = client.get("/settings/numbers").text
    assert "Up to date" in page and "1 changed" in page


def test_a_new_numbering_plan_normalizes_by_itself(
    serve: Callable[[], TestClient], store: Store
) -> None:
    factories.user_with_line(store)
    factories.address(store, numbers=(("phone", "668 18 12"),))
    client = serve()
    csrf = log_in(client, "anna")
    form = {
        "csrf_token": csrf,
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
    assert client.post("/settings/telephony", data=form).status_code == 303
    _wait_until_done(client)
    assert _e164(store, "668 18 12") == "+41446681812"


def test_a_server_catches_up_when_it_starts(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store)
    factories.address(store, numbers=(("phone", "668 18 12"),))
    _settle(store, area_code="44")
    with store.session() as session:  # as if a run had been cut short by a restart
        session.execute(update(Channel).values(normalized_with=None))
    client = serve()
    log_in(client, "anna")
    _wait_until_done(client)
    assert _e164(store, "668 18 12") == "+41446681812"
