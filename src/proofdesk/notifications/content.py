"""What each kind of notification says: its email template and the context for it."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from proofdesk.customers.auth import INVITE, RESET, TokenSettings, token_of
from proofdesk.customers.models import CustomerInvite, CustomerPasswordReset
from proofdesk.db import utcnow
from proofdesk.notifications.models import CustomerNotification


def _live(row: CustomerInvite | CustomerPasswordReset | None) -> bool:
    return row is not None and row.used_at is None and row.revoked_at is None \
        and row.expires_at > utcnow()


def content_for(session: Session, note: CustomerNotification) -> tuple[str, dict[str, Any]]:
    from proofdesk.notifications.tasks import NotSendable

    settings = TokenSettings.from_config(current_app.config)
    base = {"customer": note.customer, "sender": current_app.config["SMTP_FROM_NAME"],
            "base_url": settings.base_url}
    if note.kind == "invite":
        invite = session.get(CustomerInvite, note.invite_id)
        if not _live(invite):
            raise NotSendable("Not sent: a newer invitation replaced this one, or it expired.")
        assert invite is not None
        link = f"{settings.base_url}/portal/invite/{token_of(settings, INVITE, invite.nonce)}"
        return "customer_invite", {**base, "link": link, "hours": settings.invite_hours}
    if note.kind == "password_reset":
        reset = session.get(CustomerPasswordReset, note.reset_id)
        if not _live(reset):
            raise NotSendable("Not sent: a newer reset link replaced this one, or it expired.")
        assert reset is not None
        link = f"{settings.base_url}/portal/reset/{token_of(settings, RESET, reset.nonce)}"
        return "customer_reset", {**base, "link": link, "minutes": settings.reset_minutes}
    raise NotSendable(f"Not sent: unknown kind {note.kind}")
