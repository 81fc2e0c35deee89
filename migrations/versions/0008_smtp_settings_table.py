"""designers' SMTP settings in their own table (`smtp_settings`, owned by notifications),
moved off `users`

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import proofdesk.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# smtp_settings.<name> was users.smtp_<name>, same type.
COLUMNS = (
    "host",
    "port",
    "security",
    "username",
    "password_encrypted",
    "from_name",
    "from_address",
    "reply_to",
    "last_tested_at",
    "last_status",
    "last_error",
    "failing_since",
    "last_success_at",
)
# A user has settings when any of these holds a value (security is never empty: 'starttls'
# by default, also for users who never set a server).
VALUES = tuple(name for name in COLUMNS if name != "security")


def columns(prefix: str = "") -> list[sa.Column[Any]]:
    types = {
        "host": sa.String(length=255),
        "port": sa.Integer(),
        "security": sa.String(length=10),
        "username": sa.String(length=255),
        "password_encrypted": sa.Text(),
        "from_name": sa.String(length=200),
        "from_address": sa.String(length=320),
        "reply_to": sa.String(length=320),
        "last_tested_at": proofdesk.db.UTCDateTime(timezone=True),
        "last_status": sa.String(length=10),
        "last_error": sa.String(length=1000),
        "failing_since": proofdesk.db.UTCDateTime(timezone=True),
        "last_success_at": proofdesk.db.UTCDateTime(timezone=True),
    }
    return [
        sa.Column(
            f"{prefix}{name}",
            types[name],
            nullable=name != "security",
            server_default="starttls" if name == "security" else None,
        )
        for name in COLUMNS
    ]


def upgrade() -> None:
    op.create_table(
        "smtp_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        *columns(),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_smtp_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smtp_settings")),
        sa.UniqueConstraint("user_id", name=op.f("uq_smtp_settings_user_id")),
    )
    op.execute(
        f"INSERT INTO smtp_settings (user_id, {', '.join(COLUMNS)}) "
        f"SELECT id, {', '.join(f'smtp_{name}' for name in COLUMNS)} FROM users "
        f"WHERE {' OR '.join(f'smtp_{name} IS NOT NULL' for name in VALUES)}"
    )
    # recreate='never': SQLite drops the columns in place (ALTER TABLE … DROP COLUMN, SQLite
    # 3.35+). Batch mode's copy of `users` would DROP TABLE the old one, which with foreign
    # keys on deletes the rows that cascade from users (their sessions and the smtp_settings
    # just copied) and fails on their proofs.
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(f"smtp_{name}")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in columns(prefix="smtp_"):
            batch_op.add_column(column)
    values = ", ".join(
        f"smtp_{name} = (SELECT {name} FROM smtp_settings WHERE smtp_settings.user_id = users.id)"
        for name in COLUMNS
    )
    op.execute(f"UPDATE users SET {values} WHERE id IN (SELECT user_id FROM smtp_settings)")
    op.drop_table("smtp_settings")
