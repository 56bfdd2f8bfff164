"""The caller lookup is served by the database's indexes, on SQLite and on PostgreSQL.

The statements checked are the ones `lookup` really sends (recorded while it runs), explained
with their parameters on a store of a few thousand synthetic addresses with fresh statistics,
so the planner has a real choice between an index and a scan.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from offhook.intake.synthetic import create_synthetic_crm
from offhook.numbers import block_prefixes
from offhook.store import Store
from offhook.store.models import Call, Channel, User
from tests import factories
from tests.directory.conftest import find, statements

TABLES = {"channels", "addresses", "company", "users", "calls"}
ADDRESSES = 3000
COLLEAGUES = 2000
CALLS = 5000


@pytest.fixture
def crm(store: Store) -> Store:
    create_synthetic_crm(store, ADDRESSES, seed=5, workers=0)
    _, line = factories.user_with_line(store, extension="231")
    # Enough colleagues and call history that a scan would cost more than an index.
    now = datetime.now(UTC)
    with store.engine.begin() as connection:
        connection.execute(
            insert(User),
            [
                {
                    "login": f"u{n}",
                    "name": f"User {n}",
                    "password_hash": "-",
                    "extension": str(1000 + n),
                    "role": "user",
                    "active": True,
                    "created_at": now,
                }
                for n in range(COLLEAGUES)
            ],
        )
        connection.execute(
            insert(Call),
            [
                {
                    "line_id": line.id,
                    "call_ref": f"r{n}",
                    "direction": "incoming",
                    "state": "ended",
                    "remote_number": f"+4144{n:07d}",
                    "remote_e164": f"+4144{n:07d}",
                    "started_at": now,
                    "updated_at": now,
                    "address_chosen": n % 3 == 0,
                    "end_reason_given": False,
                    "match_count": 0,
                }
                for n in range(CALLS)
            ],
        )
    with store.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    return store


def _known(store: Store) -> tuple[str, str]:
    """A stored number, and a direct-dial number in a stored switchboard's block."""
    with store.session() as session:
        exact = session.scalar(select(Channel.e164).where(Channel.e164.is_not(None)).limit(1))
        head = session.scalar(
            select(Channel.block_prefix).where(Channel.block_prefix.is_not(None)).limit(1)
        )
    assert exact and head
    for suffix in ("57", "58", "59", "47"):
        direct = head + suffix
        if not find(store, direct) or find(store, direct)[0].match == "switchboard":
            return exact, direct
    raise AssertionError("no free direct-dial number in the block")


def _plans(store: Store, sent: list[tuple[str, Any]]) -> list[tuple[str, list[str]]]:
    """Each lookup statement with the lines (SQLite) or nodes (PostgreSQL) of its plan."""
    plans = []
    with store.engine.connect() as connection:
        for statement, parameters in sent:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            if not any(table in statement for table in ("channels", "users", "calls")):
                continue
            if store.dialect == "sqlite":
                rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                plans.append((statement, [str(row[-1]) for row in rows]))
            else:
                raw = connection.exec_driver_sql(
                    "EXPLAIN (FORMAT JSON) " + statement, parameters
                ).scalar_one()
                tree = raw if isinstance(raw, list) else json.loads(raw)
                plans.append((statement, list(_nodes(tree[0]["Plan"]))))
    return plans


def _nodes(node: dict[str, Any]) -> Any:
    yield f"{node['Node Type']} {node.get('Relation Name', '')} {node.get('Index Name', '')}"
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _scanned(line: str) -> str | None:
    """The table a plan line scans whole ("SCAN channels", "Seq Scan channels"), if any."""
    for start in ("SCAN ", "Seq Scan "):
        if line.startswith(start):
            return (line[len(start) :].split() or [""])[0]
    return None


def _assert_indexed(plans: list[tuple[str, list[str]]], *indexes: str) -> None:
    """One of `indexes` is used (the planner picks among them by the tables' statistics), and
    no table is scanned."""
    assert plans, "no lookup statement was sent"
    used = [line for _, lines in plans for line in lines]
    assert any(index in line for line in used for index in indexes), used
    for statement, lines in plans:
        # A scan of a table is what must not happen; reading the few rows a subquery of the
        # statement produced (SQLite: "SCAN anon_1") is fine.
        scans = [line for line in lines if _scanned(line) in TABLES]
        assert not scans, f"{statement}\n{lines}"


def test_exact_lookup_uses_the_e164_index(crm: Store) -> None:
    exact, _ = _known(crm)
    with statements(crm) as sent:
        assert find(crm, exact)[0].match == "exact"
    _assert_indexed(_plans(crm, sent), "ix_channels_e164")


def test_switchboard_lookup_uses_the_block_index(crm: Store) -> None:
    _, direct = _known(crm)
    assert block_prefixes(direct)
    with statements(crm) as sent:
        found = find(crm, direct)
    assert found and found[0].match == "switchboard"
    _assert_indexed(_plans(crm, sent), "ix_channels_block_prefix")


def test_a_miss_uses_both_indexes(crm: Store) -> None:
    with statements(crm) as sent:
        assert find(crm, "+41 32 999 88 77") == []
    plans = _plans(crm, sent)
    _assert_indexed(plans, "ix_channels_e164")
    _assert_indexed(plans, "ix_channels_block_prefix")


def test_colleagues_are_found_through_the_extension_index(crm: Store) -> None:
    with statements(crm) as sent:
        assert [m.match for m in find(crm, "231")] == ["internal"]
    _assert_indexed(_plans(crm, sent), "ix_users_extension")


def test_the_last_choice_is_found_through_the_calls_index(crm: Store) -> None:
    shared = "+41 44 668 18 00"
    for first in ("Anna", "Beat"):
        factories.address(
            crm, kind="person", first=first, last="Shared", numbers=(("phone", shared),)
        )
    with statements(crm) as sent:
        assert len(find(crm, shared)) == 2
    # By the caller's number, or by each candidate address's newest calls (the index of the
    # unbilled calls' address filter): both read a few index entries, never the table.
    _assert_indexed(
        [p for p in _plans(crm, sent) if "calls" in p[0]],
        "ix_calls_remote_e164",
        "ix_calls_address_started",
    )
