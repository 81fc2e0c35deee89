"""`customer_notifications`: one row per email to a customer, with its delivery status;
`smtp_settings`: a designer's own SMTP server for those emails."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from proofdesk.accounts.models import User
from proofdesk.db import Base, Vocabulary, created_at, intpk, str320, vocabulary_check
from proofdesk.mail import SmtpSecurity
from proofdesk.notifications import content
from proofdesk.notifications.content import NotificationKind, StaffNotificationKind

if TYPE_CHECKING:
    from proofdesk.customers.models import Customer


class NotificationStatus(StrEnum):
    """Where an email stands in the outbox: waiting (or retrying later), claimed by a worker
    until `claimed_until`, sent, or failed for good."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


STATUSES = tuple(NotificationStatus)


class SmtpCheck(StrEnum):
    """What the last test or real send through a designer's own server showed."""

    OK = "ok"
    FAILED = "failed"


class SmtpState(StrEnum):
    """A designer's email in a word, as Admin → Users and My Proofs show it."""

    WORKING = "working"
    FAILING = "failing"
    UNTESTED = "untested"
    DEFAULT = "default"  # no own server: the default mailer


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
        sa.Index("ix_customer_notifications_designer_created", "designer_id", "created_at", "id"),
        sa.Index("ix_customer_notifications_link", "link_token_hash"),
        vocabulary_check("status", NotificationStatus),
        # The kinds of email registered by the domains that own them (content.NotificationKind).
        vocabulary_check("kind", NotificationKind),
    )

    id: Mapped[intpk]
    kind: Mapped[NotificationKind] = mapped_column(Vocabulary(NotificationKind, 20))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    proof_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proofs.id", ondelete="CASCADE"))
    version_number: Mapped[int | None]
    designer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    invite_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customer_invites.id", ondelete="CASCADE")
    )
    reset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customer_password_resets.id", ondelete="CASCADE")
    )
    batch_id: Mapped[str | None] = mapped_column(sa.String(40))
    to_address: Mapped[str320]
    subject: Mapped[str] = mapped_column(sa.String(300))
    custom_message: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[NotificationStatus] = mapped_column(
        Vocabulary(NotificationStatus, 10), default=NotificationStatus.QUEUED
    )
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
    # The email's link carries a token of its own (never stored: its hash is): the first visit
    # through it is when the customer opened the email's link (no tracking pixel).
    link_token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    opened_at: Mapped[dt.datetime | None]

    # Every use needs the customer (the worker's message, the log's rows): loaded in the same
    # query, the worker makes 4 statements per message instead of 6 (see docs/performance.md).
    customer: Mapped[Customer] = relationship("Customer", lazy="joined", innerjoin=True)

    @property
    def kind_label(self) -> str:
        return content.label(self.kind)


class SmtpSettings(Base):
    """A designer's own SMTP server for branded mail, and what its last test or real send
    showed. No row, or no host and port: the default mailer."""

    __tablename__ = "smtp_settings"
    __table_args__ = (
        vocabulary_check("security", SmtpSecurity),
        vocabulary_check("last_status", SmtpCheck),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    host: Mapped[str | None] = mapped_column(sa.String(255))
    port: Mapped[int | None]
    security: Mapped[SmtpSecurity] = mapped_column(
        Vocabulary(SmtpSecurity, 10),
        default=SmtpSecurity.STARTTLS,
        server_default=SmtpSecurity.STARTTLS.value,
    )
    username: Mapped[str | None] = mapped_column(sa.String(255))
    password_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    from_name: Mapped[str | None] = mapped_column(sa.String(200))
    from_address: Mapped[str | None] = mapped_column(sa.String(320))
    reply_to: Mapped[str | None] = mapped_column(sa.String(320))
    # What the last test or real send through these settings showed.
    last_tested_at: Mapped[dt.datetime | None]
    last_status: Mapped[SmtpCheck | None] = mapped_column(Vocabulary(SmtpCheck, 10))
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    failing_since: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]

    # `user.smtp_settings` is loaded in the same query as the user: My Proofs, Admin → Users
    # and the worker read it for every user they load, and accounts need not know of it.
    user: Mapped[User] = relationship(
        backref=backref(
            "smtp_settings",
            uselist=False,
            lazy="joined",
            cascade="all, delete-orphan",
            passive_deletes=True,
        )
    )

    @property
    def configured(self) -> bool:
        return bool(self.host and self.port)

    @property
    def state(self) -> SmtpState:
        """working, failing, untested, or default (no own server: the default mailer)."""
        if not self.configured:
            return SmtpState.DEFAULT
        if self.last_status == SmtpCheck.FAILED:
            return SmtpState.FAILING
        return SmtpState.WORKING if self.last_status == SmtpCheck.OK else SmtpState.UNTESTED


def settings_of(user: User) -> SmtpSettings | None:
    """The user's SMTP settings (the backref above), None for the default mailer."""
    # The backref is added by this module; accounts.models (and so mypy) does not know it.
    settings: SmtpSettings | None = user.smtp_settings  # type: ignore[attr-defined]
    return settings


def smtp_state(user: User) -> SmtpState:
    """working, failing, untested, or default: what Admin → Users and My Proofs show."""
    settings = settings_of(user)
    return settings.state if settings else SmtpState.DEFAULT


class StaffNotification(Base):
    """One email to a staff user about what customers did, with its delivery status, in the
    same outbox as the customer emails: queued until `next_attempt_at` (the end of a batching
    window, a digest's hour), claimed by one worker, sent or failed. The events it reports are
    its `events` rows; a queued row still collects events until a worker claims it."""

    __tablename__ = "staff_notifications"
    __table_args__ = (
        sa.Index("ix_staff_notifications_due", "status", "next_attempt_at"),
        sa.Index("ix_staff_notifications_collecting", "user_id", "kind", "proof_id", "status"),
        sa.Index("ix_staff_notifications_proof", "proof_id", "created_at"),
        sa.Index("ix_staff_notifications_created", "created_at", "id"),
        vocabulary_check("status", NotificationStatus),
        vocabulary_check("kind", StaffNotificationKind),
    )

    id: Mapped[intpk]
    kind: Mapped[StaffNotificationKind] = mapped_column(Vocabulary(StaffNotificationKind, 20))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    proof_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proofs.id", ondelete="CASCADE"))
    to_address: Mapped[str320]
    subject: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[NotificationStatus] = mapped_column(
        Vocabulary(NotificationStatus, 10), default=NotificationStatus.QUEUED
    )
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

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    @property
    def kind_label(self) -> str:
        return content.label(self.kind)


class StaffNotificationEvent(Base):
    """Which recorded events (activities) a staff email reports."""

    __tablename__ = "staff_notification_events"
    __table_args__ = (sa.Index("ix_staff_notification_events_activity", "activity_id"),)

    notification_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_notifications.id", ondelete="CASCADE"), primary_key=True
    )
    activity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
