"""Record what happened (who, what, when, from where) on a proof or an account: the `Activity`
rows, their vocabulary (`ActivityKind`), and `record`, the one place an event is written and
where the features that act on events (designer notifications, reminders, webhooks) subscribe."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from proofdesk.db import Base, created_at, intpk


class ActivityKind(StrEnum):
    """Every kind of event recorded; the value is what `activities.kind` stores (its CHECK
    constraint lists them: a new kind needs a migration as well as a member and a label)."""

    # A proof's life
    PROOF_UPLOADED = "proof.uploaded"
    VERSION_UPLOADED = "version.uploaded"
    SHARE_LINK_VIEWED = "share_link.viewed"
    PROOF_VIEWED = "proof.viewed"  # by a customer logged in to the portal
    SHARE_LINK_ISSUED = "share_link.issued"
    SHARE_LINK_REVOKED = "share_link.revoked"
    COMMENT_ADDED = "comment.added"
    THREAD_RESOLVED = "thread.resolved"
    THREAD_REOPENED = "thread.reopened"
    DECISION_APPROVED = "decision.approved"
    DECISION_CHANGES_REQUESTED = "decision.changes_requested"
    DECISION_WITHDRAWN = "decision.withdrawn"
    PROOF_LOCKED = "proof.locked"
    PROOF_UNLOCKED = "proof.unlocked"
    REMINDER_SENT = "reminder.sent"  # "Send reminder now" (the automatic ones are in the log)
    REMINDERS_CHANGED = "reminders.changed"  # the due date or the reminders' days
    # Staff accounts
    SETUP_COMPLETED = "setup.completed"
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    PASSWORD_CHANGED = "password.changed"
    SMTP_CHANGED = "smtp.changed"
    SMTP_CLEARED = "smtp.cleared"
    SMTP_TEST_SENT = "smtp.test_sent"
    SMTP_TEST_FAILED = "smtp.test_failed"
    # Customers and their login
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_EMAIL_CHANGED = "customer.email_changed"
    CUSTOMER_INVITED = "customer.invited"
    CUSTOMER_INVITE_ACCEPTED = "customer.invite_accepted"
    CUSTOMER_RESET_SENT = "customer.reset_sent"
    CUSTOMER_RESET_REQUESTED = "customer.reset_requested"
    CUSTOMER_PASSWORD_RESET = "customer.password_reset"
    CUSTOMER_PASSWORD_CHANGED = "customer.password_changed"
    CUSTOMER_LOGGED_IN = "customer.logged_in"
    CUSTOMER_LOGIN_DISABLED = "customer.login_disabled"
    CUSTOMER_LOGIN_ENABLED = "customer.login_enabled"

    @property
    def label(self) -> str:
        """What the activity lists say after the actor's name."""
        return LABELS[self]


LABELS: dict[ActivityKind, str] = {
    ActivityKind.PROOF_UPLOADED: "uploaded the proof",
    ActivityKind.VERSION_UPLOADED: "uploaded a new version",
    ActivityKind.SHARE_LINK_VIEWED: "opened the share link",
    ActivityKind.PROOF_VIEWED: "opened the proof in the portal",
    ActivityKind.SHARE_LINK_ISSUED: "issued a new share link",
    ActivityKind.SHARE_LINK_REVOKED: "revoked the share link",
    ActivityKind.COMMENT_ADDED: "commented",
    ActivityKind.THREAD_RESOLVED: "resolved a comment thread",
    ActivityKind.THREAD_REOPENED: "reopened a comment thread",
    ActivityKind.DECISION_APPROVED: "approved",
    ActivityKind.DECISION_CHANGES_REQUESTED: "requested changes",
    ActivityKind.DECISION_WITHDRAWN: "withdrew the approval",
    ActivityKind.PROOF_LOCKED: "locked the proof for production",
    ActivityKind.PROOF_UNLOCKED: "unlocked the proof",
    ActivityKind.REMINDER_SENT: "sent the customer a reminder",
    ActivityKind.REMINDERS_CHANGED: "changed the due date or reminders",
    ActivityKind.SETUP_COMPLETED: "created the first admin",
    ActivityKind.LOGIN_SUCCEEDED: "logged in",
    ActivityKind.LOGIN_FAILED: "failed to log in",
    ActivityKind.USER_CREATED: "created a user",
    ActivityKind.USER_UPDATED: "changed a user",
    ActivityKind.USER_DEACTIVATED: "deactivated a user",
    ActivityKind.PASSWORD_CHANGED: "changed their password",
    ActivityKind.SMTP_CHANGED: "changed the SMTP settings",
    ActivityKind.SMTP_CLEARED: "removed the SMTP settings",
    ActivityKind.SMTP_TEST_SENT: "sent a test email",
    ActivityKind.SMTP_TEST_FAILED: "failed to send a test email",
    ActivityKind.CUSTOMER_UPDATED: "changed the customer's details",
    ActivityKind.CUSTOMER_EMAIL_CHANGED: "changed the customer's email",
    ActivityKind.CUSTOMER_INVITED: "sent a portal invitation",
    ActivityKind.CUSTOMER_INVITE_ACCEPTED: "accepted the invitation and set a password",
    ActivityKind.CUSTOMER_RESET_SENT: "sent a password reset link",
    ActivityKind.CUSTOMER_RESET_REQUESTED: "asked for a password reset link",
    ActivityKind.CUSTOMER_PASSWORD_RESET: "set a new password from a reset link",
    ActivityKind.CUSTOMER_PASSWORD_CHANGED: "changed their portal password",
    ActivityKind.CUSTOMER_LOGGED_IN: "logged in to the portal",
    ActivityKind.CUSTOMER_LOGIN_DISABLED: "disabled the portal login",
    ActivityKind.CUSTOMER_LOGIN_ENABLED: "enabled the portal login",
}
if missing := [kind.value for kind in ActivityKind if kind not in LABELS]:
    raise RuntimeError(f"activity kinds without a label: {', '.join(missing)}")


class Activity(Base):
    """Something that happened: on a proof, or to an account. Never holds a secret."""

    __tablename__ = "activities"
    __table_args__ = (
        sa.Index("ix_activities_proof_at", "proof_id", "at"),
        sa.Index("ix_activities_kind_at", "kind", "at"),
        sa.Index("ix_activities_customer_at", "customer_id", "at"),
        sa.CheckConstraint(
            f"kind IN ({', '.join(repr(kind.value) for kind in ActivityKind)})", name="kind"
        ),
    )

    id: Mapped[intpk]
    at: Mapped[created_at]
    kind: Mapped[str] = mapped_column(sa.String(40))  # an ActivityKind's value
    proof_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proofs.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The customer whose record or login this was about (email changes, invitations, resets).
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE")
    )
    # The comment the event is about (a comment, a reply, a decision's comment), to link to.
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comments.id", ondelete="SET NULL")
    )
    actor: Mapped[str] = mapped_column(sa.String(200))
    detail: Mapped[str | None] = mapped_column(sa.String(500))
    ip: Mapped[str | None] = mapped_column(sa.String(64))


# A subscriber: called with the session and the new row, in the transaction that records it.
Handler = Callable[[Session, Activity], None]

_subscribers: dict[ActivityKind, list[Handler]] = {}


def subscribe(*kinds: ActivityKind) -> Callable[[Handler], Handler]:
    """Register the decorated function for events of these kinds (all of them:
    `subscribe(*ActivityKind)`). `record` calls it after adding the row, in the same session
    and transaction, so what it writes (an outbox row, a reminder) commits or rolls back with
    the event; it must not commit, and what it raises fails the action that caused the event.
    The row is added but not flushed: flush if you need its id. Registering twice is once.
    A feature subscribes at app start, from the register function create_app calls for it
    (as each domain registers its emails), so that every process hears the same events."""
    if not kinds:
        raise TypeError("name the kinds to subscribe to (every kind: *ActivityKind)")
    for kind in kinds:
        _require_kind(kind)

    def register(handler: Handler) -> Handler:
        for kind in kinds:
            handlers = _subscribers.setdefault(kind, [])
            if handler not in handlers:
                handlers.append(handler)
        return handler

    return register


def unsubscribe(handler: Handler) -> None:
    """Stop calling the handler for any kind (tests; a feature switched off)."""
    for handlers in _subscribers.values():
        if handler in handlers:
            handlers.remove(handler)


def record(
    session: Session,
    *,
    kind: ActivityKind,
    actor: str,
    ip: str | None,
    proof_id: int | None = None,
    user_id: int | None = None,
    customer_id: int | None = None,
    comment_id: int | None = None,
    detail: str | None = None,
) -> Activity:
    """Write the event, once, where it happens (in the service that does it), and tell its
    subscribers."""
    _require_kind(kind)
    entry = Activity(
        kind=kind.value,
        actor=actor[:200],
        ip=ip,
        proof_id=proof_id,
        user_id=user_id,
        customer_id=customer_id,
        comment_id=comment_id,
        detail=detail[:500] if detail else None,
    )
    session.add(entry)
    for handler in list(_subscribers.get(kind, ())):
        handler(session, entry)
    return entry


def _require_kind(kind: object) -> None:
    if not isinstance(kind, ActivityKind):
        raise TypeError(f"not an ActivityKind: {kind!r} (add a member, a label and a migration)")


def label(kind: str) -> str:
    """The label of a stored kind (the template filter `activity_label`)."""
    try:
        return ActivityKind(kind).label
    except ValueError:
        return kind
