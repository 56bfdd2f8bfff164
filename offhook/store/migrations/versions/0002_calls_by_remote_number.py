"""calls by remote number: the caller lookup ranks the address last chosen for a number first

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_calls_remote_e164", "calls", ["remote_e164", "started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_calls_remote_e164", table_name="calls")
