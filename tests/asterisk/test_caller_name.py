"""The caller-name endpoint the PBX asks (CURL(), Superfecta): token, answer, limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from offhook.lines.admin import add_phone_system, install_driver
from offhook.store import Store
from tests import factories

TOKEN = "t0k3n-for-the-pbx-0123456789"


@pytest.fixture
def system_id(store: Store) -> int:
    factories.address(store, first="Anna", last="Müller", company="Muster AG")
    with store.session() as session:
        install_driver(session, "asterisk", auto_load=False)  # not running: no AMI needed
        system = add_phone_system(
            session,
            "asterisk",
            "pbx",
            {"username": "offhook", "secret": "x", "caller_name_token": TOKEN},
        )
        return system.id


def test_the_pbx_gets_the_crm_name_as_plain_text(
    serve: Callable[[], TestClient], system_id: int
) -> None:
    client = serve()
    url = f"/api/drivers/asterisk/caller-name/{system_id}"
    answer = client.get(url, params={"number": "+41446681812", "token": TOKEN})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == "Anna Müller Muster AG"
    by_header = client.get(
        url, params={"number": "0446681812"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert by_header.text == "Anna Müller Muster AG"
    unknown = client.get(url, params={"number": "+41441111111", "token": TOKEN})
    assert unknown.status_code == 200 and unknown.text == ""


def test_a_wrong_or_missing_token_is_refused(
    serve: Callable[[], TestClient], system_id: int
) -> None:
    client = serve()
    url = f"/api/drivers/asterisk/caller-name/{system_id}"
    assert client.get(url, params={"number": "+41446681812"}).status_code == 403
    assert client.get(url, params={"number": "+41446681812", "token": "nope"}).status_code == 403
    other = f"/api/drivers/asterisk/caller-name/{system_id + 99}"
    assert client.get(other, params={"number": "1", "token": TOKEN}).status_code == 403
    long_number = client.get(url, params={"number": "1" * 65, "token": TOKEN})
    assert long_number.status_code == 422


def test_a_lookup_slower_than_its_budget_answers_empty(
    serve: Callable[[], TestClient], system_id: int, store: Store
) -> None:
    """The PBX waits for the answer before the phones ring: a CRM that is slow (here its
    numbers table locked by another transaction) costs the call its name, not its ringing."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's readers never wait for a writer (WAL): nothing can slow a lookup")
    client = serve()
    url = f"/api/drivers/asterisk/caller-name/{system_id}"
    with store.engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE channels IN ACCESS EXCLUSIVE MODE"))
        answer = client.get(url, params={"number": "+41446681812", "token": TOKEN})
        assert answer.status_code == 200 and answer.text == ""
        blocker.rollback()
    # The lock gone, the same number has its name again.
    again = client.get(url, params={"number": "+41446681812", "token": TOKEN})
    assert again.text == "Anna Müller Muster AG"
