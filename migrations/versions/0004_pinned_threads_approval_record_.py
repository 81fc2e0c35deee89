"""pinned threads, approval record, production lock

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 06:06:21.027110
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import proofdesk.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("page_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pin_x", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("pin_y", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("pin_w", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("pin_h", sa.Double(), nullable=True))
        batch_op.add_column(
            sa.Column("resolved_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_comments_parent", ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_comments_parent_id_comments"),
            "comments",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("terms", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("withdrawn_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))

    with op.batch_alter_table("proofs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("require_terms", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("locked_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("locked_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_proofs_locked_by_id_users"),
            "users",
            ["locked_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("proofs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_proofs_locked_by_id_users"), type_="foreignkey")
        batch_op.drop_column("locked_by_id")
        batch_op.drop_column("locked_at")
        batch_op.drop_column("require_terms")

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_reason")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("terms")
        batch_op.drop_column("file_sha256")

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_comments_parent_id_comments"), type_="foreignkey")
        batch_op.drop_index("ix_comments_parent")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("pin_h")
        batch_op.drop_column("pin_w")
        batch_op.drop_column("pin_y")
        batch_op.drop_column("pin_x")
        batch_op.drop_column("page_number")
        batch_op.drop_column("parent_id")
