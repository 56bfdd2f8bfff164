"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from offhook.store import Store
from offhook.store.database import current_revision, head_revision
from offhook.store.models import Base


# SQLite cannot reflect expression indexes; their presence is checked by name below instead.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrated_schema_matches_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(store.engine) == head_revision(store.engine)


def test_migrating_twice_is_harmless(store: Store) -> None:
    store.migrate()
    store.migrate()
    assert current_revision(store.engine) == head_revision(store.engine)


def test_expression_indexes_exist(store: Store) -> None:
    expected = {idx.name for idx in Base.metadata.tables["addresses"].indexes if idx.name}
    with store.engine.connect() as connection:
        if store.dialect == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE tablename = 'addresses'"
        present = set(connection.execute(text(query)).scalars())
    assert expected <= present
    assert "ix_addresses_last_name_lower" in present
    assert inspect(store.engine).has_table("addresses")


def test_addresses_get_their_sort_names_on_upgrade(store: Store) -> None:
    """Migration 0004 gives the addresses that were already there their sort names, and can be
    undone."""
    from alembic import command

    from offhook.store.database import _alembic_config

    def to(revision: str, downgrade: bool = False) -> None:
        with store.engine.begin() as connection:
            cfg = _alembic_config(store.engine)
            cfg.attributes["connection"] = connection
            (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    to("0003", downgrade=True)
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO addresses (kind, salutation, first_name, last_name, company_name, "
                "position, street, postcode, city, country, notes, created_at, updated_at) "
                "VALUES (:kind, '', :first, :last, :company, '', '', '', '', '', '', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            [
                {"kind": "company", "first": "", "last": "", "company": "Zürcher Bau AG"},
                {"kind": "person", "first": "Anna", "last": "Müller", "company": ""},
                {"kind": "company", "first": "", "last": "", "company": "Ärztehaus Basel"},
                {"kind": "contact", "first": "beat", "last": "Meier", "company": ""},
            ],
        )
    to("head")
    with store.engine.connect() as connection:
        names = connection.execute(
            text("SELECT sort_name FROM addresses ORDER BY sort_name, id")
        ).scalars()
        assert list(names) == ["arztehaus basel", "meier beat", "muller anna", "zurcher bau ag"]
    to("0003", downgrade=True)
    to("head")
    assert current_revision(store.engine) == head_revision(store.engine)


def test_each_line_becomes_a_phone_system_of_its_own_on_upgrade(store: Store) -> None:
    """Migration 0005: a line that carried its own connection keeps it as a phone system of one
    line with the line's options; and it can be undone."""
    from alembic import command

    from offhook.store.database import _alembic_config

    def to(revision: str, downgrade: bool = False) -> None:
        with store.engine.begin() as connection:
            cfg = _alembic_config(store.engine)
            cfg.attributes["connection"] = connection
            (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    to("0004", downgrade=True)
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (login, name, password_hash, role, active, created_at) "
                "VALUES ('anna', 'Anna', 'x', 'admin', true, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO lines (user_id, driver, address, label, options, enabled, created_at)"
                " VALUES (1, 'sip', 'sip:201@pbx', 'Desk', :options, true, CURRENT_TIMESTAMP)"
            ),
            {"options": '{"ctrl_port": 4444}'},
        )
    to("head")
    with store.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT s.driver, s.name, s.options, l.options FROM lines l "
                "JOIN phone_systems s ON s.id = l.phone_system_id"
            )
        ).one()
    options = row[2] if isinstance(row[2], dict) else json.loads(row[2])
    assert (row[0], row[1], options) == ("sip", "Desk", {"ctrl_port": 4444})
    # A new phone system gets an id of its own after the ones the migration made.
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO phone_systems (driver, name, options, enabled, created_at) "
                "VALUES ('simulator', 'PBX', '{}', true, CURRENT_TIMESTAMP)"
            )
        )
    to("0004", downgrade=True)
    with store.engine.connect() as connection:
        back = connection.execute(text("SELECT options FROM lines")).scalar_one()
    assert (back if isinstance(back, dict) else json.loads(back)) == {"ctrl_port": 4444}
    to("head")
    assert current_revision(store.engine) == head_revision(store.engine)


def test_sessions_table_comes_and_goes(store: Store) -> None:
    """Migration 0006 adds the login sessions, and can be undone."""
    from alembic import command

    from offhook.store.database import _alembic_config

    def to(revision: str, downgrade: bool = False) -> None:
        with store.engine.begin() as connection:
            cfg = _alembic_config(store.engine)
            cfg.attributes["connection"] = connection
            (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    to("0005", downgrade=True)
    assert not inspect(store.engine).has_table("sessions")
    to("head")
    assert inspect(store.engine).has_table("sessions")
    assert current_revision(store.engine) == head_revision(store.engine)


def test_missed_calls_before_0007_count_as_done(store: Store) -> None:
    """Migration 0009_ux keeps missed calls open until called back; the ones from before it
    were seen in their day's journal and are not brought back as open work. It can be undone."""
    from alembic import command

    from offhook.store.database import _alembic_config
    from tests import factories

    def to(revision: str, downgrade: bool = False) -> None:
        with store.engine.begin() as connection:
            cfg = _alembic_config(store.engine)
            cfg.attributes["connection"] = connection
            (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    _, line = factories.user_with_line(store)
    to("0006", downgrade=True)
    assert "missed_closed_at" not in {c["name"] for c in inspect(store.engine).get_columns("calls")}
    with store.engine.begin() as connection:
        for ref, reason in (("m", "missed"), ("a", None)):
            connection.execute(
                text(
                    "INSERT INTO calls (line_id, call_ref, direction, state, end_reason,"
                    " end_reason_given, remote_number, remote_name, started_at, ended_at,"
                    " updated_at, match_count, address_chosen) VALUES (:line, :ref, 'incoming',"
                    " 'ended', :reason, false, '044', '', :at, :at, :at, 0, false)"
                ),
                {"line": line.id, "ref": ref, "reason": reason, "at": "2026-11-26 08:00:00"},
            )
    to("head")
    with store.engine.connect() as connection:
        rows = dict(
            connection.execute(
                text("SELECT call_ref, missed_closed_how FROM calls ORDER BY call_ref")
            ).all()
        )
    assert rows == {"a": None, "m": "done"}
    assert current_revision(store.engine) == head_revision(store.engine)


def test_call_sums_are_built_from_the_calls_on_upgrade(store: Store) -> None:
    """Migration 0010 sums the calls already there per line and local day, in the firm's zone;
    down and up again gives the same sums as the ones kept while the calls were recorded."""
    from datetime import UTC, datetime

    from alembic import command

    from offhook.calls.events import CallEvent, CallState, Direction, EndReason
    from offhook.calls.recorder import record_many
    from offhook.store.database import _alembic_config
    from tests import factories

    def to(revision: str, downgrade: bool = False) -> None:
        with store.engine.begin() as connection:
            cfg = _alembic_config(store.engine)
            cfg.attributes["connection"] = connection
            (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    def sums() -> dict[str, list[tuple[object, ...]]]:
        with store.engine.connect() as connection:
            return {
                table: [
                    tuple(row)
                    for row in connection.execute(
                        text(f"SELECT * FROM {table} ORDER BY 1, 2, 3")  # noqa: S608
                    )
                ]
                for table in ("call_day_sums", "call_hour_sums", "caller_day_sums")
            }

    factories.telephony(store, timezone="Asia/Tokyo")
    _, line = factories.user_with_line(store)
    factories.address(store)
    number = "+41446681812"
    with store.session() as session:
        for ref, hour in (("a", 1), ("b", 15), ("c", 16)):
            start = datetime(2026, 11, 26, hour, 0, tzinfo=UTC)
            record_many(
                session,
                [
                    CallEvent(line.id, ref, Direction.INCOMING, CallState.RINGING, start, number),
                    CallEvent(
                        line.id, ref, Direction.INCOMING, CallState.ENDED,
                        start.replace(second=20), end_reason=EndReason.MISSED,
                    ),
                ],
            )  # fmt: skip
    kept = sums()
    # 01:00 UTC is 10:00 on the 26th in Tokyo; 15:00 and 16:00 are 00:00 and 01:00 on the
    # 27th (day 20,784 since 1 January 1970).
    assert [row[1:] for row in kept["call_hour_sums"] if row[0] == 0] == [
        (20783, 10, 1, 1),
        (20784, 0, 1, 1),
        (20784, 1, 1, 1),
    ]
    to("0009_ux", downgrade=True)
    assert not inspect(store.engine).has_table("call_day_sums")
    to("head")
    assert sums() == kept
    to("0009_ux", downgrade=True)
    to("head")
    assert sums() == kept
    assert current_revision(store.engine) == head_revision(store.engine)
