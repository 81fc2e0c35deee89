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
}


def record(
    session: Session,
    *,
    kind: str,
    actor: str,
    ip: str | None,
    proof_id: int | None = None,
    user_id: int | None = None,
    detail: str | None = None,
) -> Activity:
    entry = Activity(
        kind=kind, actor=actor[:200], ip=ip, proof_id=proof_id, user_id=user_id,
        detail=detail[:500] if detail else None,
    )
    session.add(entry)
    return entry


def label(kind: str) -> str:
    return LABELS.get(kind, kind)
