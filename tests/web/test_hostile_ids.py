"""Ids no record can have, sent to a real server process.

Found while checking issue 8: an id of 30 digits in an address, a query or a body answered 500
on SQLite (it cannot bind an integer beyond 64 bits and raised OverflowError), and closed the
connection. PostgreSQL finds no such row; the answer is the same now: 404, the reason said.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from offhook.web.app import NO_SUCH_RECORD
from tests.livesite import logged_in
from tests.web.serverprocess import Server, server_process

BEYOND = "9" * 30

# Every kind of place an id arrives in: the path of the API and of pages, a query parameter,
# a JSON body.
API = [
    ("POST", f"/api/calls/{BEYOND}/answer"),
    ("POST", f"/api/calls/{BEYOND}/end"),
    ("POST", f"/api/calls/{BEYOND}/done"),
    ("GET", f"/api/calls/{BEYOND}/candidates"),
    ("POST", f"/api/unbilled/{BEYOND}/not-billable"),
    ("DELETE", f"/api/unbilled/{BEYOND}/not-billable"),
    ("GET", f"/api/drivers/simulator/lines/{BEYOND}/calls"),
    ("DELETE", f"/api/drivers/tapi/tokens/{BEYOND}"),
    ("GET", f"/api/unbilled?address={BEYOND}"),
]
PAGES = [
    f"/addresses/{BEYOND}",
    f"/addresses/{BEYOND}/edit",
    f"/calls/{BEYOND}",
    f"/projects/{BEYOND}",
    f"/activities/{BEYOND}",
    f"/services/{BEYOND}",
    f"/settings/phone-systems/{BEYOND}",
    f"/drivers/sipgate/setup/{BEYOND}",
    f"/unbilled?address={BEYOND}",
    f"/activities/new?call={BEYOND}",
    f"/services/new?address={BEYOND}",
    f"/services/new?project={BEYOND}",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with server_process(tmp_path) as server:
        yield server


def test_an_id_beyond_any_record_is_not_found(server: Server) -> None:
    client, csrf = logged_in(server.base, "anna")
    headers = {"X-CSRF-Token": csrf}
    for method, path in API:
        answer = client.request(method, path, headers=headers, json={})
        assert answer.status_code == 404, (method, path, answer.text)
    answer = client.post(f"/api/calls/{BEYOND}/hangup", headers=headers)
    assert answer.json() == {"detail": NO_SUCH_RECORD}
    answer = client.post("/api/calls/1/address", headers=headers, json={"address_id": BEYOND})
    assert answer.status_code == 404, answer.text
    for path in PAGES:
        answer = client.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 404, (path, answer.text[:300])
        assert "Not found" in answer.text, path
    # Nothing escaped to the log as a crash, and the server still serves.
    assert "Traceback" not in server.log.read_text(errors="replace")
    assert client.get("/api/journal").status_code == 200
    client.close()
