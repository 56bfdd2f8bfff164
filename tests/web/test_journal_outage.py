"""The journal while PostgreSQL drops connections (issue 8: 5 of 391 `GET /api/journal` during
connection kills answered 500). The backends are really terminated (`pg_terminate_backend`
from an admin connection), between requests and in the middle of a request's reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from offhook.app import Offhook
from offhook.calls.events import CallEvent, CallState, Direction
from offhook.settings.users import create_token, find_user
from offhook.store import Store
from offhook.store.models import Call, CallEventRecord
from tests import factories
from tests.conftest import PG_ADMIN
from tests.web.conftest import csrf_of, log_in

# Longer than the recorder used to keep trying (0.2 s doubling to 10 s, eight tries: 33 s).
OUTAGE_SECONDS = 36

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


def kill_first_statement(store: Store) -> Callable[..., int]:
    """Call the result to arm it: the backend under the next statement (one that names none
    of the `skip` words given) is terminated. It returns the kills so far."""
    armed = False
    kills = 0
    skipped: tuple[str, ...] = ()

    def kill(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal armed, kills
        if armed and not any(word in statement for word in skipped):
            armed = False
            kills += 1
            terminate_backends(store, conn.connection.dbapi_connection.info.backend_pid)

    event.listen(store.engine, "before_cursor_execute", kill)

    def arm(*skip: str) -> int:
        nonlocal armed, skipped
        armed, skipped = True, skip
        return kills

    return arm


@postgres_only
def test_pages_and_api_reads_survive_a_killed_connection(
    serve: Callable[[], TestClient], store: Store
) -> None:
    """Found while checking issue 8: with connections killed during a call burst, pages (today,
    calls, addresses), the unbilled API and the login answered 500; only the journal's read
    was retried. Every read now runs again; a write says what happened (503), never 500; a
    login that could not be checked does not count as a wrong password."""
    factories.user_with_line(store, role="user")
    factories.address(store)
    client = serve()
    csrf = log_in(client, "anna")
    arm = kill_first_statement(store)
    paths = ["/", "/calls", "/addresses?q=M", "/api/unbilled", "/api/lookup?number=0446681812"]
    statuses = []
    for path in paths:
        arm("sessions")  # past the login check (its own read is retried: the test above)
        statuses.append(client.get(path).status_code)
    assert statuses == [200] * len(paths)
    assert arm() == len(paths)

    # A write is not repeated (it may have been committed): 503 with what to do.
    # Past the login check (the session, the user, their language): the write's own statement.
    arm("SELECT", "sessions")
    written = client.put(
        "/api/preferences/journal-panel",
        json={
            "x": 10,
            "y": 10,
            "width": 400,
            "height": 500,
            "viewport_width": 1280,
            "viewport_height": 800,
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert written.status_code == 503, written.text
    assert "try again" in written.json()["detail"]
    assert written.headers["retry-after"]

    # Logins that met a dead connection: answered 503, and not counted against the user.
    client.post("/logout", data={"csrf_token": csrf})
    for _ in range(12):
        page = client.get("/login")
        arm()
        attempt = client.post(
            "/login",
            data={
                "login": "anna",
                "password": factories.PASSWORD,
                "csrf_token": csrf_of(page.text),
            },
        )
        assert attempt.status_code == 503, attempt.text
    page = client.get("/login")
    logged = client.post(
        "/login",
        data={"login": "anna", "password": factories.PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert logged.status_code == 303


@postgres_only
def test_call_events_wait_for_a_long_outage(
    serve: Callable[[], TestClient], store: Store, offhook: Offhook
) -> None:
    """Found while checking issue 8: call events that met a database away for longer than about
    half a minute (eight tries with back-off) were logged and dropped, and their calls never
    appeared. They are kept, in order, and recorded when PostgreSQL is back."""
    _, line = factories.user_with_line(store)
    client = serve()
    assert client.portal is not None
    database = store.engine.url.database
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        try:
            terminate_backends(store)
            # A driver reports three calls while nobody can reach the database.
            for n in range(3):
                start = datetime.now(UTC)
                for state, at in (
                    (CallState.RINGING, start),
                    (CallState.CONNECTED, start + timedelta(seconds=1)),
                    (CallState.ENDED, start + timedelta(seconds=9)),
                ):
                    event = CallEvent(
                        line.id, f"outage-{n}", Direction.INCOMING, state, at, f"04466818{n:02d}"
                    )
                    client.portal.call(offhook.lines.submit, event)
            time.sleep(OUTAGE_SECONDS)
        finally:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    client.portal.call(offhook.lines.flush)
    with store.session() as session:
        calls = session.scalars(select(Call).where(Call.line_id == line.id)).all()
        assert sorted((call.call_ref, call.state, call.end_reason) for call in calls) == [
            (f"outage-{n}", "ended", "answered") for n in range(3)
        ]
        # Every event, the first ones too (a call's later events alone would make the same
        # call: only the audit trail shows what was lost).
        recorded = session.execute(
            select(Call.call_ref, CallEventRecord.state)
            .join(CallEventRecord, CallEventRecord.call_id == Call.id)
            .where(Call.line_id == line.id)
        ).all()
        assert sorted(recorded) == sorted(
            (f"outage-{n}", state) for n in range(3) for state in ("ringing", "connected", "ended")
        )
