"""The journal while PostgreSQL drops connections (issue 8: 5 of 391 `GET /api/journal` during
connection kills answered 500). The backends are really terminated (`pg_terminate_backend`
from an admin connection), between requests and in the middle of a request's reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from offhook.settings.users import create_token, find_user
from offhook.store import Store
from tests import factories
from tests.conftest import PG_ADMIN
from tests.web.conftest import log_in

postgres_only = pytest.mark.parametrize(
    "store", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def terminate_backends(store: Store, pid: int | None = None) -> int:
    """Terminate the server side of the store's connections (or of one); how many."""
    database = store.engine.url.database
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND (%s::int IS NULL OR pid = %s)",
            (database, pid, pid),
        ).fetchall()
    return len(rows)


@postgres_only
def test_journal_reads_survive_killed_connections(
    serve: Callable[[], TestClient], store: Store
) -> None:
    factories.user_with_line(store, role="user")
    client = serve()
    log_in(client, "anna")
    assert client.get("/api/journal").status_code == 200

    # Killed while idle in the pool, between requests.
    statuses = []
    for _ in range(20):
        assert terminate_backends(store) >= 1
        statuses.append(client.get("/api/journal").status_code)
    assert statuses == [200] * 20

    # Killed in the middle of a read: when a request's query about calls is about to run, its
    # connection's backend is terminated, so that statement meets a dead connection.
    armed = False
    kills = 0

    def kill_on_calls_query(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal armed, kills
        if armed and "FROM calls" in statement:
            armed = False
            kills += 1
            terminate_backends(store, conn.connection.dbapi_connection.info.backend_pid)

    event.listen(store.engine, "before_cursor_execute", kill_on_calls_query)
    try:
        statuses = []
        for _ in range(3):
            armed = True
            statuses.append(client.get("/api/journal").status_code)
    finally:
        event.remove(store.engine, "before_cursor_execute", kill_on_calls_query)
    assert kills == 3
    assert statuses == [200, 200, 200]


@postgres_only
def test_who_is_asking_survives_a_killed_connection(
    serve: Callable[[], TestClient], store: Store
) -> None:
    """The login check of every request (the session's row, an API token) is read again when
    its connection dies under it, instead of answering 500."""
    factories.user_with_line(store, role="user")
    with store.session() as session:
        user = find_user(session, "anna")
        assert user is not None
        token = create_token(session, user, "outage test")
    client = serve()
    log_in(client, "anna")
    armed = False
    kills = 0

    def kill_on_login_check(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal armed, kills
        if armed and ("FROM sessions" in statement or "FROM api_tokens" in statement):
            armed = False
            kills += 1
            terminate_backends(store, conn.connection.dbapi_connection.info.backend_pid)

    # A token is checked on the read-only engine (no transaction of its own), a session on
    # the main one (an ended session is deleted): both are watched.
    engines = {store.engine, store.reader}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", kill_on_login_check)
    try:
        statuses = []
        for headers in ({}, {}, {"Authorization": f"Bearer {token}"}):
            armed = True
            statuses.append(client.get("/api/journal", headers=headers).status_code)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", kill_on_login_check)
    assert kills == 3
    assert statuses == [200, 200, 200]
