"""activities.kind takes only the kinds of the vocabulary (`ActivityKind`, owned by activity.py)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values of ActivityKind when this migration was written: every kind any version of
# Proofdesk has recorded, so existing rows satisfy the constraint as they are. A new kind
# needs a migration that widens the list.
KINDS = (
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
CONDITION = f"kind IN ({', '.join(repr(kind) for kind in KINDS)})"


def refuse_unknown_kinds() -> None:
    """Say which rows stand in the way, rather than fail on the constraint."""
    if context.is_offline_mode():
        return
    unknown = op.get_bind().scalars(
        sa.text(f"SELECT DISTINCT kind FROM activities WHERE NOT ({CONDITION})")
    )
    if found := sorted(unknown):
        raise RuntimeError(
            f"activities holds kinds Proofdesk does not know: {', '.join(found)}; "
            "change or delete those rows, then upgrade again"
        )


def upgrade() -> None:
    refuse_unknown_kinds()
    # SQLite: batch mode copies the table with the constraint; nothing references activities.
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_activities_kind"), CONDITION)


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_activities_kind"), type_="check")
