"""agent tokens: what lets an agent on a PC (the TAPI agent) serve some lines of a phone system

Revision ID: 0007_agent_tokens
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from offhook.store.types import UTCDateTime

revision = "0007_agent_tokens"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_system_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("line_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["phone_system_id"],
            ["phone_systems.id"],
            name=op.f("fk_agent_tokens_phone_system_id_phone_systems"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_agent_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agent_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_agent_tokens_phone_system_id"), "agent_tokens", ["phone_system_id"], unique=False
    )
    op.create_index(op.f("ix_agent_tokens_user_id"), "agent_tokens", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_agent_tokens_user_id"), table_name="agent_tokens")
    op.drop_index(op.f("ix_agent_tokens_phone_system_id"), table_name="agent_tokens")
    op.drop_table("agent_tokens")
