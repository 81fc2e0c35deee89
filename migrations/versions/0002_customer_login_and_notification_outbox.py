"""customer login and notification outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:45:11.783107
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import proofdesk.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_credentials_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_credentials")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_customer_credentials_customer_id")),
    )
    op.create_table(
        "customer_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_customer_invites_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_invites_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_customer_invites_token_hash")),
    )
    with op.batch_alter_table("customer_invites", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_invites_customer", ["customer_id", "created_at"], unique=False
        )

    op.create_table(
        "customer_password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_password_resets_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_customer_password_resets_token_hash")),
    )
    with op.batch_alter_table("customer_password_resets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_password_resets_customer", ["customer_id", "created_at"], unique=False
        )

    op.create_table(
        "customer_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_sessions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_customer_sessions_token_hash")),
    )
    with op.batch_alter_table("customer_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_sessions_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "customer_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("proof_id", sa.Integer(), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("designer_id", sa.Integer(), nullable=True),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("reset_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.String(length=40), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("custom_message", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", proofdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("smtp_reply", sa.String(length=1000), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("mailer", sa.String(length=20), nullable=True),
        sa.Column("created_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", proofdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", proofdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('proof', 'invite', 'password_reset')",
            name=op.f("ck_customer_notifications_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed')",
            name=op.f("ck_customer_notifications_status"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_notifications_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["designer_id"],
            ["users.id"],
            name=op.f("fk_customer_notifications_designer_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["customer_invites.id"],
            name=op.f("fk_customer_notifications_invite_id_customer_invites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proof_id"],
            ["proofs.id"],
            name=op.f("fk_customer_notifications_proof_id_proofs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reset_id"],
            ["customer_password_resets.id"],
            name=op.f("fk_customer_notifications_reset_id_customer_password_resets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_notifications")),
    )
    with op.batch_alter_table("customer_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_customer_notifications_batch", ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_customer_notifications_customer", ["customer_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_customer_notifications_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_customer_notifications_proof", ["proof_id", "created_at"], unique=False
        )

    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_kind_at", ["kind", "at"], unique=False)

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_customer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_comments_author_customer_id_customers"),
            "customers",
            ["author_customer_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_decisions_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_decisions_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_column("customer_id")

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_comments_author_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_column("author_customer_id")

    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_kind_at")

    with op.batch_alter_table("customer_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_notifications_proof")
        batch_op.drop_index("ix_customer_notifications_due")
        batch_op.drop_index("ix_customer_notifications_customer")
        batch_op.drop_index("ix_customer_notifications_batch")

    op.drop_table("customer_notifications")
    with op.batch_alter_table("customer_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_sessions_customer_id"))

    op.drop_table("customer_sessions")
    with op.batch_alter_table("customer_password_resets", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_password_resets_customer")

    op.drop_table("customer_password_resets")
    with op.batch_alter_table("customer_invites", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_invites_customer")

    op.drop_table("customer_invites")
    op.drop_table("customer_credentials")
