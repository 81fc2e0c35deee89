"""notification log indexes: Admin → Notifications newest first, by status or designer

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 06:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_notifications_created", ["created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_customer_notifications_designer_created",
            ["designer_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_customer_notifications_status_created", ["status", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_notifications_status_created")
        batch_op.drop_index("ix_customer_notifications_designer_created")
        batch_op.drop_index("ix_customer_notifications_created")
