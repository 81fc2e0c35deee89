"""designer smtp settings and status

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 05:54:32.621228
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import proofdesk.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("smtp_host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("smtp_port", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "smtp_security", sa.String(length=10), server_default="starttls", nullable=False
            )
        )
        batch_op.add_column(sa.Column("smtp_username", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("smtp_password_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("smtp_from_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("smtp_from_address", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("smtp_reply_to", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column("smtp_last_tested_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("smtp_last_status", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("smtp_last_error", sa.String(length=1000), nullable=True))
        batch_op.add_column(
            sa.Column("smtp_failing_since", proofdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "smtp_last_success_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("smtp_last_success_at")
        batch_op.drop_column("smtp_failing_since")
        batch_op.drop_column("smtp_last_error")
        batch_op.drop_column("smtp_last_status")
        batch_op.drop_column("smtp_last_tested_at")
        batch_op.drop_column("smtp_reply_to")
        batch_op.drop_column("smtp_from_address")
        batch_op.drop_column("smtp_from_name")
        batch_op.drop_column("smtp_password_encrypted")
        batch_op.drop_column("smtp_username")
        batch_op.drop_column("smtp_security")
        batch_op.drop_column("smtp_port")
        batch_op.drop_column("smtp_host")
