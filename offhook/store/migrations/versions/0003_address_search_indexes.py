"""address search indexes

Word-prefix searches on names, company and place, in any case: an index on lower(column)
serves them (PostgreSQL: with text_pattern_ops, for LIKE 'abc%').

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("last_name", "first_name", "company_name", "city", "postcode")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for column in COLUMNS:
        expression = f"lower({column}) text_pattern_ops" if postgres else f"lower({column})"
        op.create_index(f"ix_addresses_{column}_lower", "addresses", [sa.text(expression)])


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_addresses_{column}_lower", table_name="addresses")
