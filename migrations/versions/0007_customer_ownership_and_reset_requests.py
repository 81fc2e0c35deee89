"""customer account history, who sent a reset, and the queue of "forgot password" requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import proofdesk.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_activities_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_activities_customer_at", ["customer_id", "at"], unique=False)

    with op.batch_alter_table("customer_password_resets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_password_resets_created_by_id_users"),
            "users",
            ["created_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_customer_password_resets_created_by", ["created_by_id", "created_at"], unique=False
        )

    with op.batch_alter_table("customer_invites", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_invites_created_by", ["created_by_id", "created_at"], unique=False
        )

    op.create_table(
        "customer_reset_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_reset_requests")),
    )


def downgrade() -> None:
    op.drop_table("customer_reset_requests")
    with op.batch_alter_table("customer_invites", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_invites_created_by")
    with op.batch_alter_table("customer_password_resets", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_password_resets_created_by")
        batch_op.drop_constraint(
            batch_op.f("fk_customer_password_resets_created_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("created_by_id")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_customer_at")
        batch_op.drop_constraint(
            batch_op.f("fk_activities_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_column("customer_id")
