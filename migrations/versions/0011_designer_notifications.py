"""designer notifications: the staff outbox (staff_notifications and the events each
reports), each staff user's notification preferences and unread marks, the portal's
"proof.viewed" event, the comment an event is about, reminders, each email's own link token
and when it was opened

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# activities.kind's words before and after this revision (written out: a migration must not
# change when ActivityKind does).
OLD_KINDS = (
    "proof.uploaded",
    "version.uploaded",
    "share_link.viewed",
    "share_link.issued",
    "share_link.revoked",
    "comment.added",
    "thread.resolved",
    "thread.reopened",
    "decision.approved",
    "decision.changes_requested",
    "decision.withdrawn",
    "proof.locked",
    "proof.unlocked",
    "setup.completed",
    "login.succeeded",
    "login.failed",
    "user.created",
    "user.updated",
    "user.deactivated",
    "password.changed",
    "smtp.changed",
    "smtp.cleared",
    "smtp.test_sent",
    "smtp.test_failed",
    "customer.updated",
    "customer.email_changed",
    "customer.invited",
    "customer.invite_accepted",
    "customer.reset_sent",
    "customer.reset_requested",
    "customer.password_reset",
    "customer.password_changed",
    "customer.logged_in",
    "customer.login_disabled",
    "customer.login_enabled",
)
NEW_KINDS = (*OLD_KINDS, "proof.viewed", "reminder.sent", "reminders.changed")
OLD_EMAILS = ("proof", "invite", "password_reset")
NEW_EMAILS = (*OLD_EMAILS, "reminder")
STATUSES = ("queued", "sending", "sent", "failed")
STAFF_KINDS = ("decision", "comments", "first_view", "digest")
DELIVERIES = ("instant", "digest", "off")


def _in(column: str, words: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(word) for word in words)})"


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("comment_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_activities_comment_id_comments"),
            "comments",
            ["comment_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint(op.f("ck_activities_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_activities_kind"), _in("kind", NEW_KINDS))
    with op.batch_alter_table("customer_notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_customer_notifications_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_customer_notifications_kind"), _in("kind", NEW_EMAILS)
        )
        batch_op.add_column(sa.Column("link_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_customer_notifications_link", ["link_token_hash"])
    # Not in batch mode: SQLite adds (and drops) a column in place, where a batch would copy
    # the table, and dropping the old copy would delete what cascades from proofs.
    op.add_column("proofs", sa.Column("reminder_days", sa.String(length=40), nullable=True))

    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.String(length=10), nullable=False),
        sa.Column("comments", sa.String(length=10), nullable=False),
        sa.Column("first_views", sa.String(length=10), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("all_proofs", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            _in("decisions", DELIVERIES), name=op.f("ck_notification_preferences_decisions")
        ),
        sa.CheckConstraint(
            _in("comments", DELIVERIES), name=op.f("ck_notification_preferences_comments")
        ),
        sa.CheckConstraint(
            _in("first_views", DELIVERIES), name=op.f("ck_notification_preferences_first_views")
        ),
        sa.CheckConstraint(
            "digest_hour >= 0 AND digest_hour <= 23",
            name=op.f("ck_notification_preferences_digest_hour"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "unread_marks",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("proof_id", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proof_id"],
            ["proofs.id"],
            name=op.f("fk_unread_marks_proof_id_proofs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_unread_marks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "proof_id", name=op.f("pk_unread_marks")),
    )
    op.create_table(
        "staff_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("proof_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("smtp_reply", sa.String(length=1000), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("mailer", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_in("status", STATUSES), name=op.f("ck_staff_notifications_status")),
        sa.CheckConstraint(_in("kind", STAFF_KINDS), name=op.f("ck_staff_notifications_kind")),
        sa.ForeignKeyConstraint(
            ["proof_id"],
            ["proofs.id"],
            name=op.f("fk_staff_notifications_proof_id_proofs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notifications")),
    )
    op.create_index(
        "ix_staff_notifications_due", "staff_notifications", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_staff_notifications_collecting",
        "staff_notifications",
        ["user_id", "kind", "proof_id", "status"],
    )
    op.create_index(
        "ix_staff_notifications_proof", "staff_notifications", ["proof_id", "created_at"]
    )
    op.create_index("ix_staff_notifications_created", "staff_notifications", ["created_at", "id"])
    op.create_table(
        "staff_notification_events",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_staff_notification_events_activity_id_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["staff_notifications.id"],
            name=op.f("fk_staff_notification_events_notification_id_staff_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "notification_id", "activity_id", name=op.f("pk_staff_notification_events")
        ),
    )
    op.create_index(
        "ix_staff_notification_events_activity", "staff_notification_events", ["activity_id"]
    )


def downgrade() -> None:
    op.drop_table("staff_notification_events")
    op.drop_table("staff_notifications")
    op.drop_table("unread_marks")
    op.drop_table("notification_preferences")
    op.drop_column("proofs", "reminder_days")
    # The older code knows none of the new kinds: those rows go (reminders, the portal's
    # views of proofs).
    op.execute("DELETE FROM customer_notifications WHERE kind = 'reminder'")
    with op.batch_alter_table("customer_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_notifications_link")
        batch_op.drop_column("opened_at")
        batch_op.drop_column("link_token_hash")
        batch_op.drop_constraint(op.f("ck_customer_notifications_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_customer_notifications_kind"), _in("kind", OLD_EMAILS)
        )
    new_kinds = ", ".join(repr(kind) for kind in NEW_KINDS if kind not in OLD_KINDS)
    op.execute(f"DELETE FROM activities WHERE kind IN ({new_kinds})")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_activities_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_activities_kind"), _in("kind", OLD_KINDS))
        batch_op.drop_constraint(op.f("fk_activities_comment_id_comments"), type_="foreignkey")
        batch_op.drop_column("comment_id")
