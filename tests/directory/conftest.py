"""Helpers for lookup tests: parse like the server does, count the SQL a lookup sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from offhook.directory import lookup as directory
from offhook.directory.lookup import Match, find_caller
from offhook.settings.telephony import TelephonySettings
from offhook.store import Store


def find(store: Store, number: str) -> list[Match]:
    """Look a caller up the way the server does: parsed as delivered, in one session."""
    with store.session() as session:
        settings = TelephonySettings.load(session)
        return find_caller(session, number, settings).matches


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement (with its parameters) sent while the block runs: through
    SQLAlchemy, and the lookup's own statements that go straight to the driver."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    def prepare(statement: Any, dialect: Any, parameters: dict[str, Any]) -> tuple[str, Any]:
        sql, values = original(statement, dialect, parameters)
        seen.append((sql, values))
        return sql, values

    original = directory.prepare
    directory.prepare = prepare
    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
        directory.prepare = original
