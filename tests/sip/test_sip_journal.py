"""The journal with real peers: a real offhook server, a sip line, SIPp calling and being called.

Every test starts offhook (uvicorn on a free port) over a real store with one user whose sip
line auto-loads with the server, and watches it like a browser does: the JSON API and the live
stream, with an API token. Calls come from and go to SIPp; actions go through the API
(answer, hang up, dial). Assertions are on what the journal pushed and what the store holds,
never on the driver.

Lines:

- attach mode, to a baresip the harness runs (alice, direct IP calls). Click to dial needs a
  callee: the line's `dial_uri_template` sends the numbers module's dial string to a SIPp
  "trunk" on a port chosen before the server starts (`sip:{number}@127.0.0.1:PORT`).
- managed mode through Kamailio as registrar and proxy (the PBX): offhook runs baresip with a
  registered account; bare numbers go to the account's domain, and Kamailio sends numbers that
  are not registered users to the SIPp trunk, as a PBX sends external calls to its trunk.

The main flows run on SQLite and PostgreSQL (`store`), the others on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pytest
from conftest import Site, needs_peers
from journal_site import JournalClient
from peers import (
    HAVE_KAMAILIO,
    LOOPBACK,
    BaresipPeer,
    Peers,
    SippRun,
    free_port,
    free_sip_port,
)
from sqlalchemy import select

from offhook.store import Store
from offhook.store.models import Call
from tests import factories

pytestmark = [pytest.mark.sip, needs_peers]
needs_kamailio = pytest.mark.skipif(not HAVE_KAMAILIO, reason="needs kamailio")

HANS = '"Hans Muster" <sip:+41441234567@127.0.0.1>'
ANNA = '"Müller, Anna" <sip:0446681812@127.0.0.1;user=phone>'
BERT = '"Bert" <sip:+41442222222@127.0.0.1>'
CARL = '"Carl" <sip:+41443333333@127.0.0.1>'
DORA = '"Dora" <sip:+41444444444@127.0.0.1>'


@dataclass
class Crm:
    hans: int  # Hans Muster, Muster AG: +41 44 123 45 67
    anna: int  # Anna Müller, Treuhand Müller: 044 668 18 12
    peter: int  # Peter Meier (a person): mobile 079 123 45 67


def crm(store: Store) -> Crm:
    hans = factories.address(
        store, first="Hans", last="Muster", numbers=(("phone", "+41 44 123 45 67"),)
    )
    anna = factories.address(
        store, company="Treuhand Müller", numbers=(("phone", "044 668 18 12"),)
    )
    peter = factories.address(
        store, kind="person", first="Peter", last="Meier", numbers=(("mobile", "079 123 45 67"),)
    )
    return Crm(hans.id, anna.id, peter.id)


@dataclass
class AttachedLine:
    site: Site
    client: JournalClient
    line_id: int
    baresip: BaresipPeer
    trunk_port: int  # where the line's dial_uri_template sends dialled numbers
    crm: Crm


@pytest.fixture
def attached(peers: Peers, open_site: Callable[..., Site]) -> Callable[[Store], AttachedLine]:
    """An offhook server over `store` whose user has a sip line attached to a fresh baresip."""

    def start(store: Store) -> AttachedLine:
        addresses = crm(store)
        baresip = peers.baresip("alice")
        trunk_port = free_port()
        options = {
            "ctrl_port": baresip.ctrl_port,
            "dial_uri_template": f"sip:{{number}}@{LOOPBACK}:{trunk_port}",
        }
        site = open_site(store, (baresip.aor, options))
        [line_id] = site.line_ids
        site.client.line_state(line_id, "connected")
        return AttachedLine(site, site.client, line_id, baresip, trunk_port, addresses)

    return start


def stored(store: Store, call_id: int) -> Call:
    with store.session() as session:
        call = session.get(Call, call_id)
        assert call is not None
        session.expunge(call)
        return call


def calls_in_store(store: Store) -> list[Call]:
    with store.session() as session:
        calls = list(session.scalars(select(Call).order_by(Call.id)))
        session.expunge_all()
        return calls


def finished(run: SippRun) -> None:
    assert run.wait() == 0, run.errors()


def duration_of(call: Call) -> int:
    assert call.connected_at is not None and call.ended_at is not None
    return int((call.ended_at - call.connected_at).total_seconds())


# -- incoming ---------------------------------------------------------------------------------


def test_incoming_answered_from_the_journal(
    attached: Callable[[Store], AttachedLine], peers: Peers, store: Store
) -> None:
    line = attached(store)
    client = line.client
    caller = peers.sipp("uac_cid", line.baresip.contact, cid_from=HANS, pause_ms=1100)

    ringing = client.entry(state="ringing", number="+41441234567")
    assert ringing["direction"] == "incoming"
    assert ringing["remote_name"] == "Hans Muster"
    assert ringing["address"]["id"] == line.crm.hans
    assert ringing["address"]["name"] == "Hans Muster, Muster AG"
    assert ringing["number"]["display"] == "+41 44 123 45 67"  # as written in the address
    assert ringing["can"]["answer"] and ringing["can"]["hangup"]

    client.answer(ringing["id"])
    client.entry(state="connected", call_id=ringing["id"])
    ended = client.entry(state="ended", call_id=ringing["id"])  # SIPp hangs up after 1.1 s
    finished(caller)

    assert ended["end_reason"] == "answered"
    assert ended["duration"] >= 1
    assert ended["can"]["service"]
    assert [v["state"] for v in client.versions(ringing["id"])] == [
        "ringing",
        "connected",
        "ended",
    ]
    call = stored(store, ringing["id"])
    assert (call.direction, call.state, call.end_reason) == ("incoming", "ended", "answered")
    assert call.hangup_by == "remote"
    assert call.address_id == line.crm.hans
    assert call.remote_e164 == "+41441234567"
    assert duration_of(call) == ended["duration"]
    assert len(calls_in_store(store)) == 1


@pytest.mark.parametrize("length", [240, 1000])
def test_calls_with_long_call_ids_are_whole_and_apart(
    attached: Callable[[Store], AttachedLine], peers: Peers, store: Store, length: int
) -> None:
    """Issue 8, defect 2: Call-IDs of 240 characters that share their first 200 (any caller
    chooses the Call-ID) are two calls, each answered from the journal and ended whole.

    Beyond some 246 characters baresip 1.0.0 cannot be told which call to act on (its commands
    are cut at 255 bytes: `callfind <Call-ID>`); the only call on the line is its current call,
    so it is answered all the same."""
    line = attached(store)
    client = line.client
    prefix = "x" * 200
    first = peers.sipp(
        "uac_cid",
        line.baresip.contact,
        cid_from=HANS,
        pause_ms=1100,
        call_id=prefix + "a" * (length - 200),
    )
    ringing = client.entry(state="ringing", number="+41441234567")
    client.answer(ringing["id"])  # the driver is asked with the Call-ID it reported
    client.entry(state="connected", call_id=ringing["id"])
    ended = client.entry(state="ended", call_id=ringing["id"])
    finished(first)
    assert ended["end_reason"] == "answered"

    second = peers.sipp(
        "uac_cancel",
        line.baresip.contact,
        cid_from=BERT,
        pause_ms=200,
        call_id=prefix + "b" * (length - 200),
    )
    missed = client.entry(state="ended", number="+41442222222")
    finished(second)
    assert missed["id"] != ringing["id"]
    assert missed["end_reason"] == "missed"
    calls = calls_in_store(store)
    assert [(c.state, c.end_reason) for c in calls] == [("ended", "answered"), ("ended", "missed")]
    assert all(len(c.call_ref) < 100 and c.call_ref.startswith("sha256:") for c in calls)


def test_incoming_held_and_resumed_stays_one_answered_call(
    attached: Callable[[Store], AttachedLine], peers: Peers, store: Store
) -> None:
    """Hold and resume (re-INVITEs) and a DTMF digit by SIP INFO in the middle of a call
    change nothing the journal shows: one call, answered, hung up by the caller."""
    line = attached(store)
    client = line.client
    caller = peers.sipp("uac_hold", line.baresip.contact, cid_from=HANS, pause_ms=300)

    ringing = client.entry(state="ringing", number="+41441234567")
    client.answer(ringing["id"])
    ended = client.entry(state="ended", call_id=ringing["id"])
    finished(caller)

    assert ended["end_reason"] == "answered"
    assert ended["address"]["id"] == line.crm.hans
    assert [v["state"] for v in client.versions(ringing["id"])] == [
        "ringing",
        "connected",
        "ended",
    ]
    call = stored(store, ringing["id"])
    assert (call.state, call.end_reason, call.hangup_by) == ("ended", "answered", "remote")
    assert duration_of(call) == ended["duration"]
    assert len(calls_in_store(store)) == 1


def test_incoming_missed_caller_gives_up(
    attached: Callable[[Store], AttachedLine], peers: Peers, store: Store
) -> None:
    line = attached(store)
    caller = peers.sipp("uac_cancel", line.baresip.contact, cid_from=ANNA, pause_ms=200)

    ringing = line.client.entry(state="ringing", number="0446681812")
    ended = line.client.entry(state="ended", call_id=ringing["id"])
    finished(caller)

    assert ended["end_reason"] == "missed"
    assert ended["missed"] and ended["end_reason_label"] == "Missed"
    assert ended["duration"] is None
    assert ended["can"]["call_back"] and not ended["can"]["service"]
    assert ended["address"]["id"] == line.crm.anna
    call = stored(store, ringing["id"])
    assert (call.state, call.end_reason, call.connected_at) == ("ended", "missed", None)


def test_incoming_rejected_from_the_journal(
    attached: Callable[[Store], AttachedLine], peers: Peers, store: Store
) -> None:
    line = attached(store)
    caller = peers.sipp("uac_reject", line.baresip.contact, cid_from=HANS)

    ringing = line.client.entry(state="ringing", number="+41441234567")
    line.client.hangup(ringing["id"])
    ended = line.client.entry(state="ended", call_id=ringing["id"])
    finished(caller)  # it got 486 Busy Here

    assert ended["end_reason"] == "rejected"
    call = stored(store, ringing["id"])
    assert (call.end_reason, call.hangup_by, call.connected_at) == ("rejected", "local", None)


# -- outgoing (click to dial) ------------------------------------------------------------------


def test_click_to_dial_answered(
    attached: Callable[[Store], AttachedLine], peers: Peers, store: Store
) -> None:
    line = attached(store)
    client = line.client
    callee = peers.sipp("uas_answer", port=line.trunk_port, trace=True)

    call_id = client.dial("044 123 45 67")
    # Shown as dialling at once: the first push for the new call says so.
    first = client.entry(call_id=call_id, what="the dialled call")
    assert client.versions(call_id)[0]["state"] == "dialling"
    assert first["direction"] == "outgoing"
    assert first["address"]["id"] == line.crm.hans

    connected = client.entry(state="connected", call_id=call_id)
    assert connected["number"]["display"] == "+41 44 123 45 67"
    client.hangup(call_id)
    ended = client.entry(state="ended", call_id=call_id)
    finished(callee)

    assert ended["end_reason"] == "answered"
    states = [v["state"] for v in client.versions(call_id)]
    assert states[0] == "dialling" and states[-2:] == ["connected", "ended"]
    # The dial string came from the numbers module (national form for a home number) and the
    # line's template turned it into the trunk's address.
    assert f"INVITE sip:0441234567@{LOOPBACK}:{line.trunk_port} SIP/2.0" in callee.messages()
    # One call in the store: the one the journal showed from the click on, now under the
    # phone system's reference.
    [call] = calls_in_store(store)
    assert call.id == call_id
    assert call.dial_ref and not call.call_ref.startswith("dial:")
    assert (call.direction, call.end_reason, call.hangup_by) == ("outgoing", "answered", "local")
    assert call.address_id == line.crm.hans


def test_click_to_dial_busy(
    attached: Callable[[Store], AttachedLine], peers: Peers, store: Store
) -> None:
    line = attached(store)
    callee = peers.sipp("uas_busy", port=line.trunk_port)

    call_id = line.client.dial("+49 30 901820")
    ended = line.client.entry(state="ended", call_id=call_id)
    finished(callee)

    assert ended["end_reason"] == "busy"
    assert ended["end_reason_label"] == "Busy"
    assert ended["number"]["display"] == "+49 30 901820"
    assert line.client.versions(call_id)[0]["state"] == "dialling"
    assert stored(store, call_id).end_reason == "busy"


@pytest.mark.parametrize(
    ("reply", "reason", "label"),
    [
        ("603 Decline", "rejected", "Rejected"),
        ("404 Not Found", "failed", "Failed"),
        ("600 Busy Everywhere", "busy", "Busy"),
    ],
)
def test_click_to_dial_refused_by_the_far_end(
    attached: Callable[[Store], AttachedLine],
    peers: Peers,
    store: Store,
    reply: str,
    reason: str,
    label: str,
) -> None:
    line = attached(store)
    callee = peers.sipp("uas_reply", port=line.trunk_port, reply=reply)

    call_id = line.client.dial("+49 30 901820")
    ended = line.client.entry(state="ended", call_id=call_id)
    finished(callee)

    assert (ended["end_reason"], ended["end_reason_label"]) == (reason, label)
    assert ended["duration"] in (0, None)
    assert not ended["can"]["service"]
    call = stored(store, call_id)
    assert (call.end_reason, call.connected_at) == (reason, None)
    assert len(calls_in_store(store)) == 1


def test_click_to_dial_cancelled_while_dialling(
    attached: Callable[[Store], AttachedLine], peers: Peers, sqlite_store: Store
) -> None:
    line = attached(sqlite_store)
    callee = peers.sipp("uas_noanswer", port=line.trunk_port)

    call_id = line.client.dial("079 123 45 67")
    line.client.hangup(call_id)  # right away, as a user who misdialled
    ended = line.client.entry(state="ended", call_id=call_id)
    finished(callee)

    assert ended["end_reason"] == "cancelled"
    assert ended["address"]["id"] == line.crm.peter
    call = stored(sqlite_store, call_id)
    assert (call.end_reason, call.hangup_by, call.connected_at) == ("cancelled", "local", None)


# -- two calls at once --------------------------------------------------------------------------


def test_two_incoming_calls_each_on_its_own_entry(
    attached: Callable[[Store], AttachedLine], peers: Peers, sqlite_store: Store
) -> None:
    line = attached(sqlite_store)
    client = line.client
    bert = peers.sipp("uac_reject", line.baresip.contact, cid_from=BERT)
    first = client.entry(state="ringing", number="+41442222222")
    carl = peers.sipp("uac_cid", line.baresip.contact, cid_from=CARL, pause_ms=100)
    second = client.entry(state="ringing", number="+41443333333")
    assert first["id"] != second["id"]

    # baresip 1.0.0 cannot pick one of two ringing calls: the user is told so.
    refused = client.act(second["id"], "answer")
    assert refused.status_code == 409
    assert "another call" in refused.json()["detail"]

    client.hangup(first["id"])
    rejected = client.entry(state="ended", call_id=first["id"])
    assert client.entries()[second["id"]]["state"] == "ringing"
    client.answer(second["id"])
    client.entry(state="connected", call_id=second["id"])
    answered = client.entry(state="ended", call_id=second["id"])
    finished(bert)
    finished(carl)

    assert (rejected["remote_name"], rejected["end_reason"]) == ("Bert", "rejected")
    assert (answered["remote_name"], answered["end_reason"]) == ("Carl", "answered")
    assert len(calls_in_store(sqlite_store)) == 2


def test_incoming_while_an_outgoing_call_is_connected(
    attached: Callable[[Store], AttachedLine], peers: Peers, sqlite_store: Store
) -> None:
    line = attached(sqlite_store)
    client = line.client
    callee = peers.sipp("uas_answer", port=line.trunk_port)
    outgoing = client.dial("044 123 45 67")
    client.entry(state="connected", call_id=outgoing)

    caller = peers.sipp("uac_reject", line.baresip.contact, cid_from=DORA)
    incoming = client.entry(state="ringing", number="+41444444444")
    client.hangup(incoming["id"])  # reject the newcomer; the conversation goes on
    rejected = client.entry(state="ended", call_id=incoming["id"])
    finished(caller)
    assert rejected["end_reason"] == "rejected"
    assert client.entries()[outgoing]["state"] == "connected"

    client.hangup(outgoing)
    ended = client.entry(state="ended", call_id=outgoing)
    finished(callee)
    assert (ended["direction"], ended["end_reason"]) == ("outgoing", "answered")
    assert {c.id for c in calls_in_store(sqlite_store)} == {outgoing, incoming["id"]}


# -- caller IDs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerId:
    from_header: str
    raw: str  # the part of the raw remote number that identifies the call
    display: str  # the number as the journal shows it ("" when withheld)
    kind: str
    name: str  # the display name the journal keeps
    address: str | None  # which CRM address it matches


CALLER_IDS = [
    CallerId(HANS, "+41441234567", "+41 44 123 45 67", "external", "Hans Muster", "hans"),
    # National form with ;user=phone, UTF-8 display name with a comma.
    CallerId(ANNA, "0446681812", "044 668 18 12", "external", "Müller, Anna", "anna"),
    # International with 00 instead of +, no display name, a mobile number.
    CallerId(
        "<sip:0041791234567@127.0.0.1>", "0041791234567", "079 123 45 67", "external", "", "peter"
    ),
    CallerId(
        "Anonymous <sip:anonymous@anonymous.invalid>",
        "anonymous",
        "",
        "withheld",
        "Anonymous",
        None,
    ),
    # No angle brackets; a foreign number nobody in the CRM has.
    CallerId("sip:+4930901820@127.0.0.1", "+4930901820", "+49 30 901820", "external", "", None),
    CallerId(
        '"Zoë Ødegård 山田" <sip:0315551234@127.0.0.1>',
        "0315551234",
        "031 555 12 34",
        "external",
        "Zoë Ødegård 山田",
        None,
    ),
]


def check_caller_ids(
    client: JournalClient, target: str, peers: Peers, addresses: Crm, service: str = "alice"
) -> None:
    for caller_id in CALLER_IDS:
        earlier = set(client.entries())
        caller = peers.sipp(
            "uac_cancel", target, service=service, cid_from=caller_id.from_header, pause_ms=20
        )
        entry = client.entry(
            state="ended", number=caller_id.raw, besides=earlier, what=caller_id.from_header
        )
        finished(caller)
        assert entry["direction"] == "incoming"
        assert entry["end_reason"] == "missed"
        assert entry["number"]["display"] == caller_id.display, caller_id
        assert entry["number"]["kind"] == caller_id.kind, caller_id
        assert entry["remote_name"] == caller_id.name, caller_id
        expected = getattr(addresses, caller_id.address) if caller_id.address else None
        assert (entry["address"] or {}).get("id") == expected, caller_id
        if caller_id.kind == "withheld":
            assert not entry["can"]["call_back"] and not entry["can"]["create_address"]
        elif expected is None:
            assert entry["can"]["create_address"] and entry["can"]["call_back"]


def test_caller_ids(
    attached: Callable[[Store], AttachedLine], peers: Peers, sqlite_store: Store
) -> None:
    line = attached(sqlite_store)
    check_caller_ids(line.client, line.baresip.contact, peers, line.crm)
    assert len(calls_in_store(sqlite_store)) == len(CALLER_IDS)


# -- through a PBX: Kamailio as registrar and proxy, offhook runs baresip -----------------------


@needs_kamailio
def test_registered_managed_line_through_kamailio(
    peers: Peers, open_site: Callable[..., Site], store: Store
) -> None:
    addresses = crm(store)
    trunk_port = free_port()
    pbx = peers.kamailio(gateway_port=trunk_port)
    domain = f"{LOOPBACK}:{pbx.port}"
    account = f"sip:anna@{domain}"
    options = {
        "account": account,
        "registrar": f"sip:{domain}",
        "auth_user": "anna",
        "password": "secret-Zq8xK2",
        "sip_listen": f"{LOOPBACK}:{free_sip_port()}",
        "net_interface": LOOPBACK,
        "dns_server": f"{LOOPBACK}:53",
        "audio_player": "aubridge,nil",
        "audio_source": "aubridge,nil",
    }
    site = open_site(store, (account, options))
    client = site.client
    [line_id] = site.line_ids
    client.line_state(line_id, "connected", "registered")
    [line] = client.journal()["lines"]
    assert (line["state"], line["driver"]) == ("connected", "sip")
    assert "registered" in line["reason"] and "secret" not in line["reason"]

    # A caller reaches the line through the PBX; the caller ID survives the proxy.
    caller = peers.sipp("uac_cid", domain, service="anna", cid_from=ANNA, pause_ms=100)
    ringing = client.entry(state="ringing", number="0446681812")
    assert ringing["address"]["id"] == addresses.anna
    client.answer(ringing["id"])
    ended = client.entry(state="ended", call_id=ringing["id"])
    finished(caller)
    assert ended["end_reason"] == "answered"

    # Click to dial a bare number: baresip adds the account's domain, the PBX routes it out.
    trunk = peers.sipp("uas_answer", port=trunk_port, trace=True)
    call_id = client.dial("+41 79 123 45 67")
    # The push reaches the stream after the API answers; wait for it before reading the pushes.
    client.entry(call_id=call_id, what="the dialled call")
    assert client.versions(call_id)[0]["state"] == "dialling"
    client.entry(state="connected", call_id=call_id)
    client.hangup(call_id)
    ended = client.entry(state="ended", call_id=call_id)
    finished(trunk)
    assert (ended["end_reason"], ended["address"]["id"]) == ("answered", addresses.peter)
    assert "INVITE sip:0791234567@" in trunk.messages()

    # Caller IDs through the proxy, withheld and 00-prefixed included.
    check_caller_ids(client, domain, peers, addresses, service="anna")
    assert len(calls_in_store(store)) == 2 + len(CALLER_IDS)


# -- baresip killed mid-call and restarted ------------------------------------------------------


def test_baresip_killed_mid_call_and_restarted(
    attached: Callable[[Store], AttachedLine], peers: Peers, store: Store
) -> None:
    line = attached(store)
    client = line.client
    target = line.baresip.contact

    # One call finished (answered, 1 s), one connected, one ringing.
    first = peers.sipp("uac_cid", target, cid_from=HANS, pause_ms=1100)
    hans = client.entry(state="ringing", number="+41441234567")
    client.answer(hans["id"])
    hans = client.entry(state="ended", call_id=hans["id"])
    finished(first)
    peers.sipp("uac_wait_bye", target, cid_from=BERT, timeout=20)
    bert = client.entry(state="ringing", number="+41442222222")
    client.answer(bert["id"])
    bert = client.entry(state="connected", call_id=bert["id"])
    peers.sipp("uac_wait_bye", target, cid_from=CARL, timeout=20)
    carl = client.entry(state="ringing", number="+41443333333")

    line.baresip.kill()
    down = client.line_state(line.line_id, "reconnecting", "baresip is not running")
    assert "retrying in" in down["reason"]
    # While baresip is down none of its calls shows as ringing or connected.
    bert = client.entry(state="ended", call_id=bert["id"])
    carl = client.entry(state="ended", call_id=carl["id"])
    assert [e for e in client.journal()["entries"] if e["state"] != "ended"] == []
    [status] = client.journal()["lines"]
    assert status["state"] == "reconnecting" and "not running" in status["reason"]
    restarted_at = datetime.now().astimezone()

    line.baresip.start()  # same ports, as a user restarting the softphone
    client.line_state(line.line_id, "connected")

    assert (bert["end_reason"], carl["end_reason"]) == ("answered", "missed")
    assert bert["ended_by_offhook"] and carl["ended_by_offhook"]
    entries = {e["id"]: e for e in client.journal()["entries"]}
    assert len(entries) == 3
    assert all(e["state"] == "ended" for e in entries.values())
    # The finished call is untouched; the connected one lasted until baresip went, not until
    # it came back.
    assert entries[hans["id"]] == {**hans, "line": entries[hans["id"]]["line"]}
    assert hans["duration"] >= 1 and not hans["ended_by_offhook"]
    bert_call = stored(store, bert["id"])
    assert bert_call.ended_at is not None and bert_call.ended_at < restarted_at
    assert entries[bert["id"]]["duration"] == duration_of(bert_call)

    # The line works again.
    caller = peers.sipp("uac_cancel", target, cid_from=DORA, pause_ms=20)
    dora = client.entry(state="ended", number="+41444444444")
    finished(caller)
    assert dora["end_reason"] == "missed" and not dora["ended_by_offhook"]


def test_line_state_is_pushed_and_listed(
    attached: Callable[[Store], AttachedLine], sqlite_store: Store
) -> None:
    """connected → reconnecting (with why and when it retries) → connected, in the stream
    and in GET /api/journal, as the journal panel and Settings › Lines show it."""
    line = attached(sqlite_store)
    client = line.client
    [status] = client.journal()["lines"]
    assert status["state"] == "connected"
    assert f"baresip at 127.0.0.1:{line.baresip.ctrl_port}" in status["reason"]

    line.baresip.stop()
    down = client.line_state(line.line_id, "reconnecting", "not running")
    assert f"127.0.0.1:{line.baresip.ctrl_port}" in down["reason"]
    line.baresip.start()
    client.line_state(line.line_id, "connected")
    states = [s["state"] for s in client.line_states(line.line_id)]
    first_down = states.index("reconnecting")
    assert "connected" in states[:first_down] and states[-1] == "connected"
