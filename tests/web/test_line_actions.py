"""Settings › Lines has one route per action: anything else posted to a line does nothing.

Issue 8, defect 9: `action=bogus` posted to `/settings/lines/<id>` answered 303 and stopped the
line. Reproduced against a live server, as a user on their own line and as an admin.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from tests import factories
from tests.livesite import live_server, logged_in


@pytest.mark.parametrize("role", ["user", "admin"])
def test_unknown_line_actions_leave_the_line_connected(
    sqlite_store: Store, tmp_path: Path, role: str
) -> None:
    _, line = factories.user_with_line(sqlite_store, role=role)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        client, csrf = logged_in(base, "anna")
        try:
            lines = client.get("/api/journal").json()["lines"]
            assert [s["state"] for s in lines] == ["connected"]
            attempts = [
                (f"/settings/lines/{line.id}", {"action": "bogus"}),
                (f"/settings/lines/{line.id}", {"action": "stop"}),
                (f"/settings/lines/{line.id}", {}),
                (f"/settings/lines/{line.id}/bogus", {}),
                (f"/settings/lines/{line.id}/stop", {"action": "stop"}),
                (f"/settings/lines/{line.id}/restart/again", {}),
                (f"/settings/lines/{line.id}/../{line.id}/bogus", {}),
            ]
            for url, form in attempts:
                response = client.post(url, data={"csrf_token": csrf, **form})
                assert response.status_code in (404, 405), (url, response.status_code)
            lines = client.get("/api/journal").json()["lines"]
            assert [s["state"] for s in lines] == ["connected"]
        finally:
            client.close()
