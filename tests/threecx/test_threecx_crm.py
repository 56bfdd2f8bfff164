"""3CX without anything installed on it: the CRM template offhook generates, played the way 3CX
plays it (`crm_client`, from 3CX's published template format) against a real offhook app:
callers' names for the 3CX clients, and every reported call in the agent's history, once."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store
from tests import factories
from tests.threecx.crm_client import Template
from tests.web.conftest import log_in
from tests.web.test_journal import journal, wait_for

PUBLIC = "https://offhook.example.com"


@pytest.fixture
def pbx(serve: Callable[[], TestClient], store: Store) -> tuple[TestClient, int]:
    with store.session() as session:
        install_driver(session, "3cx", auto_load=True)
        anna = add_user(session, "anna", "Anna Keller", factories.PASSWORD, "admin")
        ben = add_user(session, "ben", "Ben Frei", factories.PASSWORD, "user")
        system = add_phone_system(session, "3cx", "3CX office", {"public_url": PUBLIC})
        add_line(session, anna, system, "101")
        add_line(session, ben, system, "102")
        system_id = system.id
    factories.address(store)  # Anna Müller, Muster AG, 044 668 18 12
    return serve(), system_id


def _template(client: TestClient, system_id: int) -> Template:
    log_in(client, "anna")
    response = client.get(f"/drivers/3cx/systems/{system_id}/crm-template.xml")
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    client.cookies.clear()  # from here on 3CX speaks, not a browser
    return Template(response.content)


def _when(seconds_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _values(**values: Any) -> dict[str, str]:
    base = {
        "CallType": "Inbound",
        "Number": "+41446681812",
        "Name": "",
        "Agent": "101",
        "AgentEmail": "anna@example.com",
        "DurationSeconds": "0",
        "DateTime": "",
        "CallStartTimeUTC": _when(300),
        "CallEstablishedTimeUTC": "",
        "CallEndTimeUTC": _when(100),
        "QueueExtension": "",
        "Contact::ContactID": "",
    }
    return {**base, **{k: str(v) for k, v in values.items()}}


def test_the_template_names_this_server_and_its_token(pbx: tuple[TestClient, int]) -> None:
    client, system_id = pbx
    template = _template(client, system_id)
    assert template.root.tag == "Crm"
    assert template.root.get("Country") == "CH"
    lookup = template.scenario("").find("Request")
    assert lookup is not None
    assert (
        lookup.get("Url") == f"{PUBLIC}/api/drivers/3cx/systems/{system_id}/lookup?number=[Number]"
    )
    assert len(template.parameters["ApiToken"]) >= 40
    assert template.parameters["MaxLength"] == "9"


def test_only_an_admin_downloads_the_template(pbx: tuple[TestClient, int], store: Store) -> None:
    client, system_id = pbx
    assert client.get(f"/drivers/3cx/systems/{system_id}/crm-template.xml").status_code in (
        303,
        401,
    )
    log_in(client, "ben")
    assert client.get(f"/drivers/3cx/systems/{system_id}/crm-template.xml").status_code == 403
    client.cookies.clear()
    log_in(client, "anna")
    page = client.get(f"/settings/phone-systems/{system_id}").text
    assert f'href="/drivers/3cx/systems/{system_id}/crm-template.xml"' in page


def test_the_lookup_answers_names_to_3cx(pbx: tuple[TestClient, int]) -> None:
    client, system_id = pbx
    template = _template(client, system_id)
    for number in ("+41446681812", "0446681812", "0041 44 668 18 12"):
        shown = template.lookup(client, number)
        assert shown is not None, number
        assert shown["FirstName"] == "Anna"
        assert shown["LastName"] == "Müller"
        assert shown["CompanyName"] == "Muster AG"
        assert shown["ContactUrl"] == f"{PUBLIC}/addresses/{shown['ContactID']}"
    assert template.lookup(client, "+41797770000") is None
    assert template.lookup(client, "") is None


def test_requests_without_the_token_are_refused_alike(pbx: tuple[TestClient, int]) -> None:
    client, system_id = pbx
    url = f"/api/drivers/3cx/systems/{system_id}"
    forged = {"Authorization": "Basic " + base64.b64encode(b"3cx:not-the-token").decode()}
    for headers in ({}, forged, {"Authorization": "Basic %%%"}, {"Authorization": "Bearer x"}):
        assert client.get(f"{url}/lookup?number=0446681812", headers=headers).status_code == 401
        refused = client.post(f"{url}/journal", json={"call_type": "Inbound"}, headers=headers)
        assert refused.status_code == 401
    template = _template(client, system_id)
    other = client.get(
        f"/api/drivers/3cx/systems/{system_id + 99}/lookup?number=1", headers=template.headers()
    )
    assert other.status_code == 401
    assert other.json() == {"detail": "Unknown 3CX phone system or wrong token."}


def test_reported_calls_land_in_each_agents_history_once(pbx: tuple[TestClient, int]) -> None:
    client, system_id = pbx
    template = _template(client, system_id)
    answered = _values(
        DurationSeconds=180, CallEstablishedTimeUTC=_when(280), CallEndTimeUTC=_when(100)
    )
    first = template.report(client, answered)
    assert first.status_code == 200, first.text
    assert first.json()["repeat"] is False
    again = template.report(client, answered)  # 3CX retries, or reports twice
    assert again.json()["repeat"] is True
    missed = _values(
        CallType="Missed", Agent="102", Number="0797770000", CallStartTimeUTC=_when(50)
    )
    assert template.report(client, missed).json()["recorded"] is True
    outbound = _values(
        CallType="Outbound",
        Number="0446681812",
        DurationSeconds=65,
        CallStartTimeUTC=_when(40),
        CallEstablishedTimeUTC=_when(30),
        CallEndTimeUTC=_when(0),
    )
    template.report(client, outbound)
    unanswered = _values(CallType="Notanswered", Number="0311234567", CallStartTimeUTC=_when(20))
    template.report(client, unanswered)

    log_in(client, "anna")
    entries = wait_for(lambda: len(journal(client)) >= 3 and journal(client), "anna's calls")
    assert len(entries) == 3
    by_number = {e["number"]["e164"]: e for e in entries}
    assert set(by_number) == {"+41446681812", "+41311234567"}
    kinds = sorted((e["direction"], e["end_reason"], e["duration"]) for e in entries)
    assert kinds == [
        ("incoming", "answered", 180),
        ("outgoing", "answered", 30),
        ("outgoing", "cancelled", None),
    ]
    assert all(
        e["address"] and e["address"]["name"] for e in entries if e["end_reason"] == "answered"
    )
    client.cookies.clear()
    log_in(client, "ben")
    (ben,) = wait_for(lambda: journal(client), "ben's call")
    assert (ben["direction"], ben["end_reason"], ben["missed"]) == ("incoming", "missed", True)


def test_reports_3cx_fills_in_oddly(pbx: tuple[TestClient, int]) -> None:
    client, system_id = pbx
    template = _template(client, system_id)
    # A 3CX that knows none of the UTC time variables sends their names: the call still lands,
    # ending now, and a repeat is still one call.
    bare = _values(
        CallStartTimeUTC="[CallStartTimeUTC]",
        CallEstablishedTimeUTC="[CallEstablishedTimeUTC]",
        CallEndTimeUTC="[CallEndTimeUTC]",
        DurationSeconds=42,
    )
    assert template.report(client, bare).json()["recorded"] is True
    assert template.report(client, bare).json()["repeat"] is True
    assert template.report(client, _values(Agent="999")).json()["recorded"] is False
    url = f"/api/drivers/3cx/systems/{system_id}/journal"
    headers = template.headers()
    assert client.post(url, json={"call_type": "Sideways"}, headers=headers).status_code == 422
    assert client.post(url, content=b"[1,2]", headers=headers).status_code == 422
    assert client.post(url, content=b"{nope", headers=headers).status_code == 422
    big = {"call_type": "Inbound", "name": "x" * 9000}
    assert client.post(url, json=big, headers=headers).status_code == 413
    log_in(client, "anna")
    (entry,) = wait_for(lambda: journal(client), "the call")
    assert entry["duration"] == 42


def test_a_queue_call_reported_for_two_agents_is_one_call(pbx: tuple[TestClient, int]) -> None:
    client, system_id = pbx
    template = _template(client, system_id)
    start = _when(120)
    taken = _values(CallStartTimeUTC=start, CallEstablishedTimeUTC=_when(110), DurationSeconds=100)
    template.report(client, taken)
    template.report(client, _values(CallType="Missed", Agent="102", CallStartTimeUTC=start))
    log_in(client, "ben")
    (ben,) = wait_for(lambda: journal(client), "ben's entry")
    assert ben["end_reason"] == "answered_elsewhere"
    assert ben["missed"] is False
