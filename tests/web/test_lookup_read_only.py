"""`GET /api/lookup` reads on the store's quick engine (issue 13, deliverable 4): on PostgreSQL
its connections are in autocommit mode and not pinged on checkout, so a lookup is one round
trip; a connection that died while idle is replaced by a second read, not answered with 500."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from offhook.store import Store
from tests import factories
from tests.web.conftest import log_in
from tests.web.test_journal_outage import postgres_only, terminate_backends


@postgres_only
def test_lookups_survive_killed_idle_connections_without_a_ping(
    serve: Callable[[], TestClient], store: Store
) -> None:
    factories.user_with_line(store, role="user")
    address = factories.address(store)
    client = serve()
    log_in(client, "anna")
    with store.reader.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
    assert store.reader.pool._pre_ping is False  # type: ignore[attr-defined]

    found = []
    for _ in range(10):
        assert terminate_backends(store) >= 1
        response = client.get("/api/lookup", params={"number": "044 668 18 12"})
        assert response.status_code == 200, response.text
        found.append([match["address_id"] for match in response.json()])
    assert found == [[address.id]] * 10
