"""A server whose lease connection PostgreSQL ends keeps running its phone systems.

Found while checking issue 8: with PostgreSQL connections killed during a call burst, each
kill of the connection that holds the leases made the only server stop its phone system and
start it again two seconds later: the calls it had in hand were ended by offhook, and events in
between were never seen. It now asks for the leases again at once on a new connection and runs
on; only a lease that another server took in between is given up (see test_several_servers).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient

from offhook.store import Store
from tests import factories
from tests.conftest import PG_ADMIN
from tests.web.conftest import log_in

LEASES = "offhook leases"


def lease_backend(store: Store) -> int | None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (store.engine.url.database, LEASES),
        ).fetchone()
    return int(row[0]) if row else None


def wait_for(check: Callable[[], object], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize(
    "store", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_killed_lease_connection_stops_no_phone_system(
    serve: Callable[[], TestClient], store: Store
) -> None:
    _, line = factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    headers = {"X-CSRF-Token": csrf}
    placed = client.post(
        "/api/drivers/simulator/calls",
        json={"number": "044 668 18 12", "outcome": "ringing", "ring_seconds": 120},
        headers=headers,
    )
    assert placed.status_code == 200, placed.text
    ref = placed.json()["call_ref"]
    wait_for(lambda: lease_backend(store) is not None, "the lease connection")

    for _ in range(3):
        killed = lease_backend(store)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (killed,))
        # The server notices at its next check and holds the lease on a new connection.
        wait_for(
            lambda k=killed: lease_backend(store) not in (None, k),  # type: ignore[misc]
            "a new lease connection",
        )

    calls = client.get(f"/api/drivers/simulator/lines/{line.id}/calls").json()
    assert [call["call_ref"] for call in calls] == [ref]  # the simulator never restarted
    entries = client.get("/api/journal").json()["entries"]
    assert [entry["state"] for entry in entries] == ["ringing"]
