"""What each kind of notification is and says: the domain that owns an email registers it here
(its label and how to build it), so the outbox only queues, routes, sends and logs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from proofdesk.config import settings

if TYPE_CHECKING:
    from proofdesk.notifications.models import CustomerNotification, StaffNotification


class NotificationKind(StrEnum):
    """The kinds customer_notifications.kind takes (its CHECK constraint is made from this
    list): a new kind of email needs a migration as well as a registration."""

    PROOF = "proof"  # proofs: a version is ready for review
    INVITE = "invite"  # customer_login: set a first password
    PASSWORD_RESET = "password_reset"  # customer_login: choose a new password
    REMINDER = "reminder"  # proofs: a proof still waits for the customer's review


class StaffNotificationKind(StrEnum):
    """The emails to staff users (staff_notifications.kind; its CHECK constraint is made from
    this list), registered like the customer ones by the feature that sends them."""

    DECISION = "decision"  # a customer approved, requested changes or withdrew an approval
    COMMENTS = "comments"  # comments and replies, batched over a quiet period
    FIRST_VIEW = "first_view"  # a customer first opened a new version
    DIGEST = "digest"  # the day's events, at the hour the user picked


KINDS = (*NotificationKind, *StaffNotificationKind)

# (session, notification) -> (the email's template folder, its context); raises NotSendable.
Build = Callable[[Session, Any], tuple[str, dict[str, Any]]]


class NotSendable(Exception):
    """The notification no longer makes sense (e.g. a newer invite replaced it)."""


@dataclass(frozen=True)
class Kind:
    label: str  # what the notification log and a proof's page call it
    build: Build


_kinds: dict[str, Kind] = {}


def register(kind: str, *, label: str, build: Build) -> None:
    """Declare an email the outbox may carry (at app start, by the domain that owns it)."""
    if kind not in KINDS:
        raise ValueError(
            f"customer_notifications.kind does not take {kind!r}, nor does "
            "staff_notifications.kind: add it to NotificationKind or StaffNotificationKind, "
            "with a migration for the CHECK constraint"
        )
    _kinds[kind] = Kind(label=label, build=build)


def check_registered() -> None:
    """Refuse to start while a kind the table takes has no email registered for it."""
    missing = [kind for kind in KINDS if kind not in _kinds]
    if missing:
        raise RuntimeError(f"no email registered for notification kind {', '.join(missing)}")


def label(kind: str) -> str:
    return _kinds[kind].label


def content_for(session: Session, notification: CustomerNotification) -> tuple[str, dict[str, Any]]:
    """The template and context of a notification's email; what every email gets (the
    customer, the studio's name, the site) and what its kind adds."""
    kind = _kinds.get(notification.kind)
    if kind is None:
        raise NotSendable(f"Not sent: unknown kind {notification.kind}")
    template, context = kind.build(session, notification)
    base = {
        "customer": notification.customer,
        "sender": settings().smtp_from_name,
        "base_url": settings().base_url,
    }
    return template, {**base, **context}


def staff_content_for(
    session: Session, notification: StaffNotification
) -> tuple[str, dict[str, Any]]:
    """The same for an email to a staff user: every one gets the user and the site."""
    kind = _kinds.get(notification.kind)
    if kind is None:
        raise NotSendable(f"Not sent: unknown kind {notification.kind}")
    template, context = kind.build(session, notification)
    base = {
        "user": notification.user,
        "sender": settings().smtp_from_name,
        "base_url": settings().base_url,
    }
    return template, {**base, **context}
