"""unbilled: calls marked "not billable", and the indexes of the unbilled calls' queries

The list of unbilled calls is worked to empty: each connected call with a client is either
booked as a service or marked here, with an optional reason. The firm-wide list and charts
read a period of everybody's calls (`ix_calls_started`); the address filter and the top
callers read one address's calls (`ix_calls_address_started`).

Revision ID: 0008_unbilled
Revises: 0007_agent_tokens
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from offhook.store.types import UTCDateTime

revision = "0008_unbilled"
down_revision = "0007_agent_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "not_billable_calls",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("marked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_not_billable_calls_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_not_billable_calls_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_not_billable_calls")),
    )
    op.create_index("ix_calls_started", "calls", ["started_at"], unique=False)
    op.create_index("ix_calls_address_started", "calls", ["address_id", "started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_calls_address_started", table_name="calls")
    op.drop_index("ix_calls_started", table_name="calls")
    op.drop_table("not_billable_calls")
