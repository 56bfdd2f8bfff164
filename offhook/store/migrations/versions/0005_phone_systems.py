"""phone systems: one connection serves the lines of many users

Until now each line carried its own connection (a driver instance per line). A phone system
(an Asterisk, a cloud PBX account, a softphone) is now configured once, and each user's line on
it names only its extension, device or number. Every existing line becomes a phone system of
its own with the line's options (both drivers so far kept connection settings on the line), so
a sip line stays a one-line connection and a simulated line a one-line simulated phone system.

Also: the table of installed drivers is called what it holds (it was "extensions", a word
offhook now keeps for internal numbers), and a call that rang on several lines and was answered
on another remembers by whom.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from offhook.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table("extensions", "installed_drivers")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX pk_extensions RENAME TO pk_installed_drivers")
    op.create_table(
        "phone_systems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("driver", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_systems")),
    )
    with op.batch_alter_table("lines") as batch:
        batch.add_column(sa.Column("phone_system_id", sa.Integer(), nullable=True))

    # Each line becomes a phone system of its own; the new system takes the line's id, so the
    # pairing needs no lookup (and the sequence is moved past them below).
    lines = sa.table(
        "lines",
        sa.column("id", sa.Integer()),
        sa.column("driver", sa.String()),
        sa.column("address", sa.String()),
        sa.column("label", sa.String()),
        sa.column("options", sa.JSON()),
        sa.column("enabled", sa.Boolean()),
        sa.column("created_at", UTCDateTime()),
        sa.column("phone_system_id", sa.Integer()),
    )
    systems = sa.table(
        "phone_systems",
        sa.column("id", sa.Integer()),
        sa.column("driver", sa.String()),
        sa.column("name", sa.String()),
        sa.column("options", sa.JSON()),
        sa.column("enabled", sa.Boolean()),
        sa.column("created_at", UTCDateTime()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            lines.c.id,
            lines.c.driver,
            lines.c.address,
            lines.c.label,
            lines.c.options,
            lines.c.created_at,
        )
    ).all()
    if rows:
        bind.execute(
            systems.insert(),
            [
                {
                    "id": row.id,
                    "driver": row.driver,
                    "name": (row.label or row.address)[:200],
                    "options": row.options or {},
                    "enabled": True,
                    "created_at": row.created_at,
                }
                for row in rows
            ],
        )
        bind.execute(lines.update().values(phone_system_id=lines.c.id, options={}))
        if bind.dialect.name == "postgresql":
            op.execute(
                "SELECT setval(pg_get_serial_sequence('phone_systems', 'id'), "
                "(SELECT max(id) FROM phone_systems))"
            )

    with op.batch_alter_table("lines") as batch:
        batch.alter_column("phone_system_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_lines_phone_system_id_phone_systems"),
            "phone_systems",
            ["phone_system_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_lines_phone_system_id"), ["phone_system_id"], unique=False)

    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("answered_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_calls_answered_by_id_users"),
            "users",
            ["answered_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_calls_call_ref", ["call_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_index("ix_calls_call_ref")
        batch.drop_constraint(op.f("fk_calls_answered_by_id_users"), type_="foreignkey")
        batch.drop_column("answered_by_id")

    # A line takes back its phone system's options; a line without a phone system of its own
    # (several lines on one) takes a copy.
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE lines SET options = (SELECT options FROM phone_systems "
            "WHERE phone_systems.id = lines.phone_system_id)"
        )
    )
    with op.batch_alter_table("lines") as batch:
        batch.drop_index(op.f("ix_lines_phone_system_id"))
        batch.drop_constraint(op.f("fk_lines_phone_system_id_phone_systems"), type_="foreignkey")
        batch.drop_column("phone_system_id")
    op.drop_table("phone_systems")
    if bind.dialect.name == "postgresql":
        op.execute("ALTER INDEX pk_installed_drivers RENAME TO pk_extensions")
    op.rename_table("installed_drivers", "extensions")
