"""The sipgate driver through its real HTTP endpoint: every push sequence of the cloud-push
corpus (Zammad's request specs, sipgate.io's README examples), the forward and transfer
sequences sipgate.io's FAQ describes, and what must be refused: forged or missing signatures,
replays, unknown accounts, oversized and malformed bodies.

sipgate signs with its private key, which is sipgate's: the tests sign with their own key and
configure its public half in place of the published one (`signature_key`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from offhook.drivers.sipgate.signature import public_key
from offhook.store import Store
from tests.drivers.webhooks import keys
from tests.drivers.webhooks.conformance import call_id_of, sipgate_readme_bodies, zammad_steps
from tests.drivers.webhooks.dial_server import api_stand_in
from tests.drivers.webhooks.site import TOKEN, Site, webhook_site

OUR_NUMBER = "+4930600000000"


def signed(body: str, key: str = "test") -> dict[str, str]:
    return {"X-Sipgate-Signature": keys.rsa_signature(body.encode(), key)}


def push(site: Site, body: str, status: int = 200) -> str:
    response = site.post(body, signed(body))
    assert response.status_code == status, response.text
    return response.text


def form(**fields: str | list[str]) -> str:
    return urlencode(fields, doseq=True)


@pytest.fixture
def zammad_site(store: Store, tmp_path: Path) -> Iterator[Site]:
    """Lines named as Zammad's specs name sipgate's users."""
    with webhook_site(
        store,
        tmp_path,
        "sipgate",
        {"signature_key": keys.public_pem()},
        {"anna": ("user 1", [OUR_NUMBER]), "ben": ("user 2", [])},
    ) as site:
        yield site


@pytest.fixture
def site(sqlite_store: Store, tmp_path: Path) -> Iterator[Site]:
    """Lines named by sipgate's user ids: Anna is w0, Ben w1."""
    with webhook_site(
        sqlite_store,
        tmp_path,
        "sipgate",
        {"signature_key": keys.public_pem(), "public_url": "https://crm.example.com"},
        {"anna": ("w0", []), "ben": ("w1", [])},
    ) as site:
        yield site


def outcome(entry: dict[str, object]) -> tuple[object, ...]:
    number = entry["number"]
    assert isinstance(number, dict)
    return (entry["direction"], number["raw"], entry["state"], entry["end_reason"])


def test_zammads_sipgate_sequences_show_in_each_users_journal(zammad_site: Site) -> None:
    site = zammad_site
    steps = zammad_steps("sipgate")
    assert len(steps) == 12
    calls: dict[str, list[str]] = {}
    for step in steps:
        answer = push(site, step.body)
        assert answer.startswith('<?xml version="1.0" encoding="UTF-8"?>')
        calls.setdefault(call_id_of(step.body), []).append(step.body)
        if step.body.startswith("event=newCall"):
            # Subscribed to the call's answer and hang-up, at the URL the push came to.
            url = f"http://testserver/drivers/sipgate/hooks/{TOKEN}"
            assert f'onAnswer="{url}" onHangup="{url}"' in answer

    anna = sorted(site.journal("anna"), key=lambda e: e["id"])
    ben = sorted(site.journal("ben"), key=lambda e: e["id"])
    assert [outcome(e) for e in anna] == [
        # outbound I: dialled, cancelled by the agent
        ("outgoing", "+4912347114711", "ended", "cancelled"),
        # outbound II: answered, hung up
        ("outgoing", "+4912347114711", "ended", "answered"),
        # inbound I: answered
        ("incoming", "+4912347114711", "ended", "answered"),
        # inbound II: a group call ("user 1,user 2" in one value) taken by the mailbox: missed
        ("incoming", "+4912347114711", "ended", "missed"),
        # the basic call: still ringing on both users' lines
        ("incoming", "+4912347114711", "ringing", None),
    ]
    assert [outcome(e) for e in ben] == [
        ("incoming", "+4912347114711", "ended", "missed"),
        ("incoming", "+4912347114711", "ringing", None),
    ]
    assert anna[1]["connected_at"] is not None and anna[1]["duration"] is not None
    assert anna[3]["missed"] is True and ben[0]["missed"] is True


def test_the_readme_group_call_is_answered_by_one_user(site: Site) -> None:
    bodies = sipgate_readme_bodies()
    assert [b.split("&", 1)[0] for b in bodies] == [
        "event=newCall",
        "event=answer",
        "event=hangup",
        "event=dtmf",
    ]
    new_call = push(site, bodies[0])
    url = f"https://crm.example.com/drivers/sipgate/hooks/{TOKEN}"
    assert f'<Response onAnswer="{url}" onHangup="{url}"/>' in new_call
    ringing = site.journal("ben")
    assert [outcome(e) for e in ringing] == [("incoming", "+492111234567", "ringing", None)]
    for body in bodies[1:]:
        assert "onAnswer" not in push(site, body)
    anna, ben = site.call("anna"), site.call("ben")
    assert outcome(anna) == ("incoming", "+492111234567", "ended", "answered")
    assert outcome(ben) == ("incoming", "+492111234567", "ended", "answered_elsewhere")
    assert ben["missed"] is False


def _new(call_id: str, user: str, **extra: str) -> str:
    return form(
        event="newCall",
        direction="in",
        **{"from": "492111234567", "to": "4930600000000"},
        callId=call_id,
        **{"user[]": user.title(), "userId[]": user},
        **extra,
    )


def test_a_forwarded_call_answered_by_the_colleague(site: Site) -> None:
    """sipgate.io FAQ, "How is forwarding signaled?": Doc (w0) is busy, the call is forwarded
    to Marty (w1), who answers."""
    push(site, _new("12111955", "w0"))
    push(site, form(event="hangup", cause="forwarded", callId="12111955", direction="in"))
    push(site, _new("21102015", "w1", origCallId="12111955", diversion="4930600000000"))
    push(site, form(event="answer", callId="21102015", user="Marty", userId="w1", direction="in"))
    push(site, form(event="hangup", cause="normalClearing", callId="21102015", direction="in"))
    assert outcome(site.call("anna")) == (
        "incoming",
        "+492111234567",
        "ended",
        "answered_elsewhere",
    )
    assert outcome(site.call("ben")) == ("incoming", "+492111234567", "ended", "answered")


def test_a_forwarded_call_nobody_answers_is_missed_by_both(site: Site) -> None:
    push(site, _new("A-1", "w0"))
    push(site, form(event="hangup", cause="forwarded", callId="A-1", direction="in"))
    push(site, _new("B-1", "w1", origCallId="A-1"))
    push(site, form(event="hangup", cause="cancel", callId="B-1", direction="in"))
    assert site.call("anna")["end_reason"] == "missed"
    assert site.call("ben")["end_reason"] == "missed"


def test_a_transferred_call_is_answered_on_both_lines(site: Site) -> None:
    """sipgate.io FAQ, "What happens when a call is transferred?": Doc answers, transfers to
    Marty, who answers; Doc hangs up first."""
    push(site, _new("12111955", "w0"))
    push(site, form(event="answer", callId="12111955", user="Doc", userId="w0", direction="in"))
    push(site, _new("21102015", "w1", origCallId="12111955"))
    push(site, form(event="answer", callId="21102015", user="Marty", userId="w1", direction="in"))
    push(site, form(event="hangup", cause="normalClearing", callId="12111955", direction="in"))
    push(site, form(event="hangup", cause="normalClearing", callId="21102015", direction="in"))
    assert site.call("anna")["end_reason"] == "answered"
    assert site.call("ben")["end_reason"] == "answered"


def test_out_of_order_duplicate_and_unknown_pushes_do_no_harm(site: Site) -> None:
    # The answer overtakes the new call; the new call comes twice (not byte for byte);
    # a hang-up for a call nobody heard of, and one for the call again after it ended.
    push(site, form(event="answer", callId="X-1", userId="w0", direction="in", to="4930600000000"))
    push(site, _new("X-1", "w0"))
    push(site, _new("X-1", "w0") + "&xcid=again")
    push(site, form(event="hangup", cause="normalClearing", callId="X-1", direction="in"))
    push(site, form(event="hangup", cause="normalClearing", callId="X-1"))
    push(site, form(event="hangup", cause="cancel", callId="never-heard-of"))
    push(site, form(event="answer", callId="never-heard-of-either"))
    entry = site.call("anna")
    assert outcome(entry) == ("incoming", "+492111234567", "ended", "answered")
    assert site.journal("ben") == []


def test_a_call_for_a_user_without_a_line_changes_nothing(site: Site) -> None:
    push(site, _new("Z-1", "w7"))
    assert site.journal("anna") == [] and site.journal("ben") == []
    receipts = site.client.portal.call(lambda: _receipts(site))  # type: ignore[union-attr]
    assert "no line here" in receipts[0]


async def _receipts(site: Site) -> list[str]:
    runner = site.offhook.lines.running[site.system_id]
    return [r.text for r in runner.driver.receipts]  # type: ignore[attr-defined]


# --- refused ---------------------------------------------------------------------------------


def test_forged_and_missing_signatures_are_refused(site: Site) -> None:
    body = _new("F-1", "w0")
    assert site.post(body).status_code == 403  # no signature
    assert site.post(body, signed(body, key="attacker")).status_code == 403
    assert site.post(body, signed(_new("F-2", "w0"))).status_code == 403  # another body's
    assert site.post(body, {"X-Sipgate-Signature": "bm90IGEgc2lnbmF0dXJl"}).status_code == 403
    assert site.post(body, {"X-Sipgate-Signature": "%%%"}).status_code == 403
    assert site.journal("anna") == []
    push(site, body)
    assert len(site.journal("anna")) == 1


def test_a_replayed_push_is_refused(site: Site) -> None:
    body = _new("R-1", "w0")
    push(site, body)
    push(site, form(event="hangup", cause="cancel", callId="R-1", direction="in"))
    replayed = site.post(body, signed(body))
    assert replayed.status_code == 409
    assert site.call("anna")["state"] == "ended"


def test_unknown_accounts_are_refused_before_the_body_is_read(site: Site) -> None:
    body = _new("U-1", "w0")
    other = site.post(body, signed(body), path="/drivers/sipgate/hooks/not-our-token-at-all")
    assert other.status_code == 404
    # Announced as far too large: an unknown account gets its 404 all the same, unread.
    huge = site.client.post(
        "/drivers/sipgate/hooks/nope",
        content=b"x" * 10,
        headers={"Content-Length": "10", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 404
    assert site.journal("anna") == []


def test_oversized_and_malformed_pushes_are_refused(site: Site) -> None:
    big = _new("B-1", "w0") + "&pad=" + "x" * 20_000
    assert site.post(big, signed(big)).status_code == 413
    for body, status in [
        (form(event="newCall", direction="in", **{"user[]": "w0"}), 400),  # no callId
        (form(event="newCall", callId="c" * 300, direction="in"), 400),
        ("event=newCall&callId=%FF%FE&direction=in", 400),  # not UTF-8
        ("&".join(f"user[]=u{i}" for i in range(200)), 400),  # too many fields
    ]:
        assert site.post(body, signed(body)).status_code == status, body
    json_body = '{"event": "newCall"}'
    refused = site.post(json_body, signed(json_body), content_type="application/json")
    assert refused.status_code == 415
    assert site.journal("anna") == []


def test_the_published_key_is_shipped() -> None:
    key = public_key("")
    assert key.key_size == 4096
    # A key pasted into a one-line field (line breaks lost) reads the same.
    assert public_key(keys.public_pem().replace("\n", " ")).public_numbers() == (
        keys.private_key().public_key().public_numbers()
    )


def test_without_signature_checks_the_secret_url_alone_admits(
    sqlite_store: Store, tmp_path: Path
) -> None:
    with webhook_site(
        sqlite_store, tmp_path, "sipgate", {"verify_signature": False}, {"anna": ("w0", [])}
    ) as site:
        assert site.post(_new("N-1", "w0")).status_code == 200
        assert site.call("anna")["state"] == "ringing"


# --- click to dial, against a stand-in for sipgate's REST API --------------------------------


def test_click_to_dial_through_sessions_calls(sqlite_store: Store, tmp_path: Path) -> None:
    """NOT sipgate: a local server that answers as sipgate's REST API is described
    (POST /v2/sessions/calls with deviceId, caller and callee, Basic auth with a personal
    access token; answers {"sessionId"}; DELETE /v2/calls/{id} hangs up), because
    api.sipgate.com cannot be reached from here."""

    def sipgate_api(method: str, path: str, headers: dict[str, str], body: object) -> Any:
        if headers.get("authorization") != "Basic dG9rZW4tQUIxMkNEOnMzY3JldA==":
            return 401, {"message": "unauthorized"}
        if (method, path) == ("POST", "/v2/sessions/calls"):
            return 200, {"sessionId": "9f2c0a7d1e"}
        if (method, path) == ("DELETE", "/v2/calls/9f2c0a7d1e"):
            return 204, None
        return 404, None

    with (
        api_stand_in(sipgate_api) as api,
        webhook_site(
            sqlite_store,
            tmp_path,
            "sipgate",
            {
                "signature_key": keys.public_pem(),
                "api_url": f"{api.url}/v2",
                "token_id": "token-AB12CD",
                "token": "s3cret",
            },
            {"anna": ("w0", []), "ben": ("w1", [])},
            anna={"device_id": "e0"},
        ) as site,
    ):
        bearer = {"Authorization": f"Bearer {site.tokens['anna']}"}
        dialled = site.client.post("/api/dial", json={"number": "+41 44 668 18 12"}, headers=bearer)
        assert dialled.status_code == 200, dialled.text
        assert api.requests[0][:2] == ("POST", "/v2/sessions/calls")
        assert api.requests[0][3] == {
            "deviceId": "e0",
            "caller": "e0",
            "callee": "+41446681812",
        }
        # sipgate pushes the call under the session's id: the journal's dialling call is
        # the one that connects, not a second one.
        push(site, _out("9f2c0a7d1e", "w0", "41446681812"))
        push(site, form(event="answer", callId="9f2c0a7d1e", direction="out"))
        entry = site.call("anna")
        assert (entry["state"], entry["direction"]) == ("connected", "outgoing")
        hung_up = site.client.post(f"/api/calls/{entry['id']}/hangup", headers=bearer)
        assert hung_up.status_code == 200, hung_up.text
        assert api.requests[-1][:2] == ("DELETE", "/v2/calls/9f2c0a7d1e")

        # Ben's line names no device: he is told so, and sipgate is not asked.
        ben = {"Authorization": f"Bearer {site.tokens['ben']}"}
        refused = site.client.post("/api/dial", json={"number": "+41446681812"}, headers=ben)
        assert refused.status_code == 409 and "device" in refused.json()["detail"]
        assert len(api.requests) == 2


def test_click_to_dial_with_a_refused_token_says_so(sqlite_store: Store, tmp_path: Path) -> None:
    """NOT sipgate: a local stand-in that refuses the token, as sipgate answers 401."""
    with (
        api_stand_in(lambda *_: (401, {"message": "unauthorized"})) as api,
        webhook_site(
            sqlite_store,
            tmp_path,
            "sipgate",
            {"api_url": api.url, "token_id": "token-X", "token": "wrong"},
            {"anna": ("w0", [])},
            anna={"device_id": "e0"},
        ) as site,
    ):
        bearer = {"Authorization": f"Bearer {site.tokens['anna']}"}
        refused = site.client.post("/api/dial", json={"number": "+41446681812"}, headers=bearer)
        assert refused.status_code == 409
        assert "API token" in refused.json()["detail"]
        assert site.call("anna")["end_reason"] == "failed"


def _out(call_id: str, user: str, to: str) -> str:
    return form(
        event="newCall",
        direction="out",
        **{"from": "4930600000000", "to": to},
        callId=call_id,
        **{"user[]": user.title(), "userId[]": user},
    )
