"""The proofs' email, "your proof is ready": queued when a designer notifies the customer, built
when the worker sends it."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from proofdesk.customers.models import Customer
from proofdesk.notifications import content
from proofdesk.notifications.content import NotificationKind, NotSendable
from proofdesk.notifications.models import CustomerNotification
from proofdesk.notifications.services import queue, tracked
from proofdesk.proofs.models import Proof
from proofdesk.review.services import active_share_link, share_url

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(template: str, values: dict[str, str]) -> str:
    """Put values into {placeholders}; unknown ones stay as written."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def proof_values(proof: Proof, version: int, link: str = "") -> dict[str, str]:
    return {
        "customer_name": proof.customer.name,
        "proof_title": proof.title,
        "version": str(version),
        "designer_name": proof.designer.name,
        "link": link,
    }


def notify_customer(
    session: Session,
    *,
    proof: Proof,
    version_number: int,
    custom_message: str | None,
    config: dict[str, Any],
) -> CustomerNotification:
    """ "Notify customer now": one outbox row, in the same transaction as the upload."""
    subject = " ".join(
        fill(config["CUSTOMER_NOTIFY_DEFAULT_SUBJECT"], proof_values(proof, version_number)).split()
    )
    return queue(
        session,
        kind=NotificationKind.PROOF,
        customer=proof.customer,
        subject=subject,
        base_url=config["BASE_URL"],
        proof_id=proof.id,
        version_number=version_number,
        designer_id=proof.designer_id,
        custom_message=(custom_message or "").strip() or None,
    )


def proof_link(session: Session, proof: Proof, customer: Customer, config: dict[str, Any]) -> str:
    """The portal link for a customer who can log in, otherwise the share link (as the
    flags decide)."""
    base_url = config["BASE_URL"]
    portal = f"{base_url}/portal/proofs/{proof.id}"
    can_log_in = customer.credential is not None and customer.credential.disabled_at is None
    if config["CUSTOMER_LOGIN_ENABLED"] and (
        can_log_in or not config["LEGACY_PUBLIC_LINKS_ENABLED"]
    ):
        return portal
    link = active_share_link(session, proof)
    if link is None:
        raise NotSendable("Not sent: the proof has no working share link (it was revoked).")
    url = share_url(link)
    if url is None:
        raise NotSendable(
            "Not sent: SECRET_KEY changed since the share link was made; issue a "
            "new link on the proof page and send the notification again."
        )
    return url


def proof_ready(session: Session, notification: CustomerNotification) -> tuple[str, dict[str, Any]]:
    """The email of a "proof" notification: the designer's message or the default text, and
    the link to the proof."""
    config = current_app.config
    proof = session.get(Proof, notification.proof_id)
    if proof is None:
        raise NotSendable("Not sent: the proof no longer exists.")
    version = notification.version_number or proof.current_version
    link = tracked(proof_link(session, proof, notification.customer, config), notification)
    values = proof_values(proof, version, link)
    subject = fill(config["CUSTOMER_NOTIFY_DEFAULT_SUBJECT"], values)
    if notification.custom_message:
        body = f"{notification.custom_message.strip()}\n\nReview it here:\n{link}"
    else:
        body = fill(config["CUSTOMER_NOTIFY_DEFAULT_BODY"], values)
    return "proof_ready", {"subject": subject, "body": body, "link": link}


def register() -> None:
    content.register(NotificationKind.PROOF, label="Proof ready", build=proof_ready)
