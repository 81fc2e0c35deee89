"""The login mails, invitation and password reset: queued with their link's row, built when the
worker sends them (the link is derived again from the row, never stored)."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import current_app
from sqlalchemy.orm import Session

from proofdesk.customer_login.links import INVITE, RESET
from proofdesk.customer_login.models import CustomerInvite, CustomerPasswordReset
from proofdesk.customers.models import Customer
from proofdesk.db import utcnow
from proofdesk.notifications import content
from proofdesk.notifications import services as outbox
from proofdesk.notifications.content import NotificationKind, NotSendable
from proofdesk.notifications.models import CustomerNotification
from proofdesk.tokens import TokenSettings, stored_link_token


def queue_invite(
    session: Session,
    *,
    customer: Customer,
    invite: CustomerInvite,
    settings: TokenSettings,
    batch_id: str | None,
) -> None:
    outbox.queue(
        session,
        kind=NotificationKind.INVITE,
        customer=customer,
        invite_id=invite.id,
        batch_id=batch_id,
        subject="You're invited to review your proofs online",
        base_url=settings.base_url,
    )


def queue_reset(
    session: Session, *, customer: Customer, reset: CustomerPasswordReset, settings: TokenSettings
) -> None:
    outbox.queue(
        session,
        kind=NotificationKind.PASSWORD_RESET,
        customer=customer,
        reset_id=reset.id,
        subject="Reset your password",
        base_url=settings.base_url,
    )


def _live(row: CustomerInvite | CustomerPasswordReset | None) -> bool:
    return (
        row is not None
        and row.used_at is None
        and row.revoked_at is None
        and row.expires_at > utcnow()
    )


def _token(
    settings: TokenSettings, purpose: str, row: CustomerInvite | CustomerPasswordReset
) -> str:
    token = stored_link_token(settings.secret_key, purpose, row.nonce, row.token_hash)
    if token is None:
        raise NotSendable(
            "Not sent: SECRET_KEY changed since this link was made; send it "
            "again from the customer's page."
        )
    return token


_LoginLink = TypeVar("_LoginLink", CustomerInvite, CustomerPasswordReset)


def _link_email(
    session: Session,
    model: type[_LoginLink],
    row_id: int | None,
    purpose: str,
    stale: str,
) -> tuple[TokenSettings, str]:
    """The settings and the link of a login mail, if its row still works."""
    settings = TokenSettings.from_config(current_app.config)
    row = session.get(model, row_id)
    if row is None or not _live(row):
        raise NotSendable(stale)
    path = "invite" if purpose == INVITE else "reset"
    return settings, f"{settings.base_url}/portal/{path}/{_token(settings, purpose, row)}"


def invitation(session: Session, notification: CustomerNotification) -> tuple[str, dict[str, Any]]:
    settings, link = _link_email(
        session,
        CustomerInvite,
        notification.invite_id,
        INVITE,
        "Not sent: a newer invitation replaced this one, or it expired.",
    )
    return "customer_invite", {"link": link, "hours": settings.invite_hours}


def password_reset(
    session: Session, notification: CustomerNotification
) -> tuple[str, dict[str, Any]]:
    settings, link = _link_email(
        session,
        CustomerPasswordReset,
        notification.reset_id,
        RESET,
        "Not sent: a newer reset link replaced this one, or it expired.",
    )
    return "customer_reset", {"link": link, "minutes": settings.reset_minutes}


def register() -> None:
    content.register(NotificationKind.INVITE, label="Invitation", build=invitation)
    content.register(NotificationKind.PASSWORD_RESET, label="Password reset", build=password_reset)
