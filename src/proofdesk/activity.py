"""Record what happened (who, what, when, from where) on a proof or an account."""

from __future__ import annotations

from sqlalchemy.orm import Session

from proofdesk.proofs.models import Activity

LABELS = {
    "proof.uploaded": "uploaded the proof",
    "version.uploaded": "uploaded a new version",
    "share_link.viewed": "opened the share link",
    "share_link.issued": "issued a new share link",
    "share_link.revoked": "revoked the share link",
    "comment.added": "commented",
    "decision.approved": "approved",
    "decision.changes_requested": "requested changes",
    "decision.withdrawn": "withdrew the approval",
    "proof.locked": "locked the proof for production",
    "proof.unlocked": "unlocked the proof",
    "thread.resolved": "resolved a comment thread",
    "thread.reopened": "reopened a comment thread",
    "login.succeeded": "logged in",
    "login.failed": "failed to log in",
    "user.created": "created a user",
    "user.updated": "changed a user",
    "user.deactivated": "deactivated a user",
    "password.changed": "changed their password",
    "setup.completed": "created the first admin",
    "customer.created": "added the customer",
    "customer.updated": "changed the customer's details",
    "customer.email_changed": "changed the customer's email",
    "customer.invited": "sent a portal invitation",
    "customer.invite_accepted": "accepted the invitation and set a password",
    "customer.reset_sent": "sent a password reset link",
    "customer.reset_requested": "asked for a password reset link",
    "customer.password_reset": "set a new password from a reset link",
    "customer.password_changed": "changed their portal password",
    "customer.logged_in": "logged in to the portal",
    "customer.login_disabled": "disabled the portal login",
    "customer.login_enabled": "enabled the portal login",
}


def record(
    session: Session,
    *,
    kind: str,
    actor: str,
    ip: str | None,
    proof_id: int | None = None,
    user_id: int | None = None,
    customer_id: int | None = None,
    detail: str | None = None,
) -> Activity:
    entry = Activity(
        kind=kind,
        actor=actor[:200],
        ip=ip,
        proof_id=proof_id,
        user_id=user_id,
        customer_id=customer_id,
        detail=detail[:500] if detail else None,
    )
    session.add(entry)
    return entry


def label(kind: str) -> str:
    return LABELS.get(kind, kind)
