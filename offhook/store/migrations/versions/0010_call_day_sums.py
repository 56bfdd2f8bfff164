"""call day sums: calls summed per line and local day, hour and address, for the charts

The charts of unbilled calls read these sums (a few hundred rows for a firm's year; the top
callers per address and day, and per four weeks) instead
of grouping every call of the period; `offhook.store.call_sums` says how they are keyed and
kept. Filled here from the calls already there, a month of calls per statement, in the
firm's time zone (Settings > Telephony, or the machine's while none was saved).

Revision ID: 0010_call_day_sums
Revises: 0009_ux
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from offhook.store import call_sums
from offhook.store.local_time import system_timezone, zone_names
from offhook.store.types import UTCDateTime

revision = "0010_call_day_sums"
down_revision = "0009_ux"
branch_labels = None
depends_on = None


def _counts(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "call_day_sums",
        sa.Column("line_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        *_counts(*call_sums.DAY_COLUMNS),
        sa.PrimaryKeyConstraint("line_id", "day", name=op.f("pk_call_day_sums")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "call_hour_sums",
        sa.Column("line_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        *_counts(*call_sums.HOUR_COLUMNS),
        sa.PrimaryKeyConstraint("line_id", "day", "hour", name=op.f("pk_call_hour_sums")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "caller_day_sums",
        sa.Column("address_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        *_counts(*call_sums.CALLER_COLUMNS),
        sa.PrimaryKeyConstraint("address_id", "day", name=op.f("pk_caller_day_sums")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_caller_day_sums_day",
        "caller_day_sums",
        ["day", "address_id", "calls", "seconds"],
        unique=False,
    )
    op.create_table(
        "caller_block_sums",
        sa.Column("block", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("address_id", sa.Integer(), autoincrement=False, nullable=False),
        *_counts(*call_sums.CALLER_COLUMNS),
        sa.PrimaryKeyConstraint("block", "address_id", name=op.f("pk_caller_block_sums")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "call_sums_zone",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("zone", sa.String(length=80), nullable=False),
        sa.Column("built_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_sums_zone")),
    )
    connection = op.get_bind()
    call_sums.rebuild(connection, ZoneInfo(_firm_zone(connection)))


def _firm_zone(connection: sa.Connection) -> str:
    settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.JSON))
    saved = connection.scalar(sa.select(settings.c.value).where(settings.c.key == "telephony"))
    name = saved.get("timezone") if isinstance(saved, dict) else None
    return name if isinstance(name, str) and name in zone_names() else system_timezone()


def downgrade() -> None:
    op.drop_table("call_sums_zone")
    op.drop_table("caller_block_sums")
    op.drop_index("ix_caller_day_sums_day", table_name="caller_day_sums")
    op.drop_table("caller_day_sums")
    op.drop_table("call_hour_sums")
    op.drop_table("call_day_sums")
