"""`customer_notifications`: one row per email to a customer, with its delivery status."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proofdesk.customers.models import Customer
from proofdesk.db import Base, created_at, intpk, str320

KINDS = {"proof": "Proof ready", "invite": "Invitation", "password_reset": "Password reset"}
STATUSES = ("queued", "sending", "sent", "failed")


class CustomerNotification(Base):
    __tablename__ = "customer_notifications"
    __table_args__ = (
        sa.Index("ix_customer_notifications_due", "status", "next_attempt_at"),
        sa.Index("ix_customer_notifications_customer", "customer_id", "created_at"),
        sa.Index("ix_customer_notifications_proof", "proof_id", "created_at"),
        sa.Index("ix_customer_notifications_batch", "batch_id"),
        # Admin → Notifications lists newest first, all or by status or designer: without
        # these, 200,000 rows are sorted for every page of the log.
        sa.Index("ix_customer_notifications_created", "created_at", "id"),
        sa.Index("ix_customer_notifications_status_created", "status", "created_at", "id"),
        sa.Index("ix_customer_notifications_designer_created", "designer_id", "created_at",
                 "id"),
        sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name="status"),
        sa.CheckConstraint("kind IN ('proof', 'invite', 'password_reset')", name="kind"),
    )

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(sa.String(20))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    proof_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proofs.id", ondelete="CASCADE"))
    version_number: Mapped[int | None]
    designer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    invite_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customer_invites.id", ondelete="CASCADE"))
    reset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customer_password_resets.id", ondelete="CASCADE"))
    batch_id: Mapped[str | None] = mapped_column(sa.String(40))
    to_address: Mapped[str320]
    subject: Mapped[str] = mapped_column(sa.String(300))
    custom_message: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    smtp_reply: Mapped[str | None] = mapped_column(sa.String(1000))
    message_id: Mapped[str] = mapped_column(sa.String(300))
    mailer: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]

    # Every use needs the customer (the worker's message, the log's rows): loaded in the same
    # query, the worker makes 4 statements per message instead of 6 (see docs/performance.md).
    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]
