"""What each kind of notification says: its email template and the context for it."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from proofdesk.customer_login.links import INVITE, RESET
from proofdesk.customer_login.models import CustomerInvite, CustomerPasswordReset
from proofdesk.customers.models import Customer
from proofdesk.db import utcnow
from proofdesk.notifications.models import CustomerNotification
from proofdesk.proofs.models import Proof
from proofdesk.tokens import TokenSettings, hash_token, token_of

PLACEHOLDER = re.compile(r"\{(\w+)\}")


class NotSendable(Exception):
    """The notification no longer makes sense (e.g. a newer invite replaced it)."""


def fill(template: str, values: dict[str, str]) -> str:
    """Put values into {placeholders}; unknown ones stay as written."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def proof_values(proof: Proof, version: int, link: str = "") -> dict[str, str]:
    return {"customer_name": proof.customer.name, "proof_title": proof.title,
            "version": str(version), "designer_name": proof.designer.name, "link": link}


def proof_link(session: Session, proof: Proof, customer: Customer, config: dict[str, Any]) -> str:
    """The portal link for a customer who can log in, otherwise the share link (as the
    flags decide)."""
    from proofdesk.review.services import active_share_link, share_url

    base_url = config["BASE_URL"]
    portal = f"{base_url}/portal/proofs/{proof.id}"
    can_log_in = customer.credential is not None and customer.credential.disabled_at is None
    if config["CUSTOMER_LOGIN_ENABLED"] and (can_log_in or
                                             not config["LEGACY_PUBLIC_LINKS_ENABLED"]):
        return portal
    link = active_share_link(session, proof)
    if link is None:
        raise NotSendable("Not sent: the proof has no working share link (it was revoked).")
    url = share_url(link)
    if url is None:
        raise NotSendable("Not sent: SECRET_KEY changed since the share link was made; issue a "
                          "new link on the proof page and send the notification again.")
    return url


def _live(row: CustomerInvite | CustomerPasswordReset | None) -> bool:
    return row is not None and row.used_at is None and row.revoked_at is None \
        and row.expires_at > utcnow()


def _token(settings: TokenSettings, purpose: str, row: CustomerInvite | CustomerPasswordReset
           ) -> str:
    token = token_of(settings, purpose, row.nonce)
    if hash_token(token) != row.token_hash:
        raise NotSendable("Not sent: SECRET_KEY changed since this link was made; send it "
                          "again from the customer's page.")
    return token


def content_for(session: Session, note: CustomerNotification) -> tuple[str, dict[str, Any]]:
    config = current_app.config
    settings = TokenSettings.from_config(config)
    base = {"customer": note.customer, "sender": config["SMTP_FROM_NAME"],
            "base_url": settings.base_url}
    if note.kind == "proof":
        proof = session.get(Proof, note.proof_id)
        if proof is None:
            raise NotSendable("Not sent: the proof no longer exists.")
        version = note.version_number or proof.current_version
        link = proof_link(session, proof, note.customer, config)
        values = proof_values(proof, version, link)
        subject = fill(config["CUSTOMER_NOTIFY_DEFAULT_SUBJECT"], values)
        if note.custom_message:
            body = f"{note.custom_message.strip()}\n\nReview it here:\n{link}"
        else:
            body = fill(config["CUSTOMER_NOTIFY_DEFAULT_BODY"], values)
        return "proof_ready", {**base, "subject": subject, "body": body, "link": link}
    if note.kind == "invite":
        invite = session.get(CustomerInvite, note.invite_id)
        if not _live(invite):
            raise NotSendable("Not sent: a newer invitation replaced this one, or it expired.")
        assert invite is not None
        link = f"{settings.base_url}/portal/invite/{_token(settings, INVITE, invite)}"
        return "customer_invite", {**base, "link": link, "hours": settings.invite_hours}
    if note.kind == "password_reset":
        reset = session.get(CustomerPasswordReset, note.reset_id)
        if not _live(reset):
            raise NotSendable("Not sent: a newer reset link replaced this one, or it expired.")
        assert reset is not None
        link = f"{settings.base_url}/portal/reset/{_token(settings, RESET, reset)}"
        return "customer_reset", {**base, "link": link, "minutes": settings.reset_minutes}
    raise NotSendable(f"Not sent: unknown kind {note.kind}")
