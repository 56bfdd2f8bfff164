"""The Placetel driver through its real HTTP endpoint: the Placetel sequences of the cloud-push
corpus (Zammad's request specs), the notify API README's HMAC example, group and outgoing
calls built from the README's tables, and what must be refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from offhook.drivers.placetel.push import signature
from offhook.store import Store
from tests.drivers.webhooks.conformance import corpus_file, zammad_steps
from tests.drivers.webhooks.dial_server import api_stand_in
from tests.drivers.webhooks.site import Site, webhook_site

SECRET = "sh4red-secret"
ANNA = "7777abcdefg@fpbx.de"
BEN = "7777xyzabcd@fpbx.de"


def signed(body: str, secret: str = SECRET) -> dict[str, str]:
    return {"X-PLACETEL-SIGNATURE": signature(secret, body.encode())}


def notify(site: Site, body: str, status: int = 200) -> None:
    response = site.post(body, signed(body))
    assert response.status_code == status, response.text


def form(**fields: str) -> str:
    return urlencode(fields)


def outcome(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["direction"], entry["number"]["raw"], entry["state"], entry["end_reason"])


@pytest.fixture
def zammad_site(store: Store, tmp_path: Path) -> Iterator[Site]:
    with webhook_site(
        store,
        tmp_path,
        "placetel",
        {"shared_secret": SECRET},
        {"anna": (ANNA, ["030600000000"]), "ben": (BEN, ["0221 29191999"])},
    ) as site:
        yield site


@pytest.fixture
def site(sqlite_store: Store, tmp_path: Path) -> Iterator[Site]:
    """Anna and Ben share the group number 022129191999; Anna's own is 030600000000."""
    with webhook_site(
        sqlite_store,
        tmp_path,
        "placetel",
        {"shared_secret": SECRET},
        {"anna": (ANNA, ["030600000000", "022129191999"]), "ben": (BEN, ["022129191999"])},
    ) as site:
        yield site


def test_zammads_placetel_sequences_show_in_the_journal(zammad_site: Site) -> None:
    site = zammad_site
    steps = zammad_steps("Placetel")
    assert len(steps) == 13
    for step in steps:
        response = site.post(step.body, signed(step.body))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
    anna = sorted(site.journal("anna"), key=lambda e: e["id"])
    assert [outcome(e) for e in anna] == [
        # dialled, nobody answered (type=missed)
        ("outgoing", "01114100300", "ended", "cancelled"),
        # dialled, accepted, hung up
        ("outgoing", "01114100300", "ended", "answered"),
        # came in, accepted, hung up
        ("incoming", "01114100300", "ended", "answered"),
        # came in, taken by the mailbox: missed
        ("incoming", "01114100300", "ended", "missed"),
        # the token check's call and the blocked caller's: still ringing
        ("incoming", "01114100300", "ringing", None),
        ("incoming", "491715000000", "ringing", None),
    ]
    assert site.journal("ben") == []


def test_the_readmes_signature_example_verifies(sqlite_store: Store, tmp_path: Path) -> None:
    readme = corpus_file("placetel_call_control_notify_api_README.md").read_text()
    payload = (
        "call_id=4a4cbb39578170aed9a2761a7bec8c7e704a541f52291ef603d6f5f152980c3c"
        "&event=CallAccepted&from=0123456789&to=0987654321"
    )
    documented = "c4f823c5b8806432fe2b83b1fc2ee714422e0cdfb4b5129152a7d0bbcd7792d0"
    assert payload in readme and documented in readme
    assert signature("12345", payload.encode()) == documented
    with webhook_site(
        sqlite_store, tmp_path, "placetel", {"shared_secret": "12345"}, {"anna": (ANNA, [])}
    ) as site:
        tampered = payload.replace("0123456789", "0123456780")
        assert site.post(tampered, {"X-PLACETEL-SIGNATURE": documented}).status_code == 403
        assert site.post(payload, {"X-PLACETEL-SIGNATURE": documented}).status_code == 200
        # An answer for a call never notified, which says no direction: nothing to show.
        assert site.journal("anna") == []


def test_a_group_call_answered_by_one_user_with_placetels_duration(site: Site) -> None:
    call = "f4591ba315d81671d7a06c2a3b4f963dafd119de39cb26edd8a6476676b2f447"
    caller = {"from": "0211 1234567", "to": "022129191999"}
    notify(site, form(event="IncomingCall", call_id=call, direction="in", **caller))
    assert [e["state"] for e in site.journal("anna") + site.journal("ben")] == [
        "ringing",
        "ringing",
    ]
    notify(site, form(event="CallAccepted", call_id=call, peer=BEN, direction="in", **caller))
    notify(
        site,
        form(
            event="HungUp", call_id=call, type="accepted", duration="42", direction="in", **caller
        ),
    )
    ben, anna = site.call("ben"), site.call("anna")
    assert outcome(ben) == ("incoming", "0211 1234567", "ended", "answered")
    assert ben["duration"] == 42
    assert outcome(anna) == ("incoming", "0211 1234567", "ended", "answered_elsewhere")


def test_an_outgoing_call_accepted_without_an_accept_event(site: Site) -> None:
    """Placetel sends CallAccepted for incoming calls only: an outgoing call's answer shows in
    its HungUp (type accepted, with the duration)."""
    call = "0b1c" * 16
    notify(
        site,
        form(
            event="OutgoingCall",
            call_id=call,
            peer=ANNA,
            direction="out",
            **{"from": "030600000000", "to": "+41446681812"},
        ),
    )
    notify(site, form(event="HungUp", call_id=call, type="accepted", duration="125"))
    entry = site.call("anna")
    assert outcome(entry) == ("outgoing", "+41446681812", "ended", "answered")
    assert entry["duration"] == 125
    assert site.journal("ben") == []


@pytest.mark.parametrize(
    ("kind", "direction", "reason"),
    [
        ("missed", "in", "missed"),
        ("voicemail", "in", "missed"),
        ("blocked", "in", "rejected"),
        ("busy", "out", "busy"),
        ("canceled", "out", "cancelled"),
        ("unavailable", "out", "failed"),
        ("congestion", "out", "failed"),
        ("missed", "out", "cancelled"),
    ],
)
def test_each_hang_up_type(site: Site, kind: str, direction: str, reason: str) -> None:
    event = "IncomingCall" if direction == "in" else "OutgoingCall"
    numbers = (
        {"from": "0211 1234567", "to": "030600000000"}
        if direction == "in"
        else {"from": "030600000000", "to": "0211 1234567", "peer": ANNA}
    )
    notify(site, form(event=event, call_id="c-1", direction=direction, **numbers))
    notify(site, form(event="HungUp", call_id="c-1", type=kind, duration="0", **numbers))
    assert site.call("anna")["end_reason"] == reason


def test_unsigned_forged_replayed_and_unknown_are_refused(site: Site) -> None:
    body = form(
        event="IncomingCall", call_id="r-1", **{"from": "0211 1234567", "to": "030600000000"}
    )
    assert site.post(body).status_code == 403
    assert site.post(body, signed(body, "guessed")).status_code == 403
    assert site.post(body, {"X-PLACETEL-SIGNATURE": "zz"}).status_code == 403
    assert site.post(body, signed(body), path="/drivers/placetel/hooks/unknown").status_code == 404
    # A sipgate address is not a Placetel one, even with the same token.
    assert (
        site.post(body, signed(body), path=site.hook.replace("placetel", "sipgate")).status_code
        == 404
    )
    assert site.journal("anna") == []
    notify(site, body)
    notify(site, body, status=409)
    assert len(site.journal("anna")) == 1


def test_click_to_dial_through_the_calls_api(sqlite_store: Store, tmp_path: Path) -> None:
    """NOT Placetel: a local server that answers as Placetel's v2 REST API is described
    (POST /v2/calls with {sipuid, target} and a Bearer token), since api.placetel.de cannot be
    reached from here."""

    def placetel_api(method: str, path: str, headers: dict[str, str], body: Any) -> Any:
        if headers.get("authorization") != "Bearer p-token":
            return 401, {"error": "unauthorized"}
        if (method, path) == ("POST", "/v2/calls") and set(body) == {"sipuid", "target"}:
            return 200, {"id": 1}
        return 422, {"error": "unexpected"}

    with (
        api_stand_in(placetel_api) as api,
        webhook_site(
            sqlite_store,
            tmp_path,
            "placetel",
            {"api_url": f"{api.url}/v2", "api_token": "p-token", "shared_secret": SECRET},
            {"anna": (ANNA, ["030600000000"])},
        ) as site,
    ):
        bearer = {"Authorization": f"Bearer {site.tokens['anna']}"}
        dialled = site.client.post("/api/dial", json={"number": "0446681812"}, headers=bearer)
        assert dialled.status_code == 200, dialled.text
        assert api.requests[0][3] == {"sipuid": ANNA, "target": "0446681812"}
        # Placetel's notification of the call it placed: the journal's dialling call, once.
        notify(
            site,
            form(
                event="OutgoingCall",
                call_id="d-1",
                peer=ANNA,
                direction="out",
                **{"from": "030600000000", "to": "0446681812"},
            ),
        )
        notify(site, form(event="HungUp", call_id="d-1", type="accepted", duration="30"))
        entry = site.call("anna")
        assert (entry["state"], entry["end_reason"], entry["duration"]) == ("ended", "answered", 30)


def test_a_hang_up_before_the_answer(site: Site) -> None:
    """Out of order: Placetel's HungUp (with the duration) overtakes its CallAccepted."""
    call = "a1b2" * 16
    caller = {"from": "0211 1234567", "to": "022129191999"}
    notify(site, form(event="IncomingCall", call_id=call, direction="in", **caller))
    notify(site, form(event="HungUp", call_id=call, type="accepted", duration="61", **caller))
    notify(site, form(event="CallAccepted", call_id=call, peer=ANNA, direction="in", **caller))
    anna, ben = site.call("anna"), site.call("ben")
    assert (anna["end_reason"], anna["duration"]) == ("answered", 61)
    assert ben["end_reason"] == "answered_elsewhere"
