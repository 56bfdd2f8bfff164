"""ux: missed calls stay open until the caller is reached or a user marks them done

Revision ID: 0009_ux
Revises: 0008_unbilled
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from offhook.store.types import UTCDateTime

revision = "0009_ux"
down_revision = "0008_unbilled"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("missed_closed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("missed_closed_how", sa.String(length=20), nullable=True))
    # Missed calls from before this version were seen in their day's journal and are not
    # brought back as open work: they count as done.
    op.execute(
        "UPDATE calls SET missed_closed_at = ended_at, missed_closed_how = 'done' "
        "WHERE direction = 'incoming' AND end_reason = 'missed'"
    )


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("missed_closed_how")
        batch.drop_column("missed_closed_at")
