"""Share links, comments and decisions on a proof."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from proofdesk import activity
from proofdesk.accounts.models import User
from proofdesk.activity import Activity, ActivityKind
from proofdesk.config import settings
from proofdesk.customers.models import Customer
from proofdesk.db import rowcount, utcnow
from proofdesk.errors import ServiceError
from proofdesk.notifications.services import record_opened
from proofdesk.proofs.models import Proof, ProofStatus, ProofVersion
from proofdesk.review.models import DECISIONS, Comment, Decision, DecisionKind, ShareLink
from proofdesk.review.threads import Pin, thread_root
from proofdesk.tokens import derive_token, hash_token, new_token, stored_link_token

SHARE_PURPOSE = "share-link"
MAX_COMMENT = 5000
# The event each decision records (DECISIONS' keys).
DECISION_KINDS = {
    "approved": ActivityKind.DECISION_APPROVED,
    "changes_requested": ActivityKind.DECISION_CHANGES_REQUESTED,
}


def share_token(link: ShareLink) -> str:
    return derive_token(settings().secret_key, SHARE_PURPOSE, link.nonce)


def share_url(link: ShareLink) -> str | None:
    """The link's address, or None when SECRET_KEY changed since it was made (the old
    address still works, but it can no longer be shown: issue a new link)."""
    token = stored_link_token(settings().secret_key, SHARE_PURPOSE, link.nonce, link.token_hash)
    if token is None:
        return None
    return f"{settings().base_url}/s/{token}"


def active_share_link(session: Session, proof: Proof) -> ShareLink | None:
    return session.scalar(
        sa.select(ShareLink).where(ShareLink.proof_id == proof.id, ShareLink.revoked_at.is_(None))
    )


def issue_share_link(
    session: Session, *, proof: Proof, by: User, ip: str | None, record_activity: bool = True
) -> ShareLink:
    """A new link for the proof; any older link stops working."""
    revoke_share_link(session, proof=proof, by=by, ip=ip, record_activity=False)
    link = ShareLink(proof_id=proof.id, nonce=new_token(), created_by_id=by.id, token_hash="")
    link.token_hash = hash_token(share_token(link))
    session.add(link)
    if record_activity:
        activity.record(
            session,
            kind=ActivityKind.SHARE_LINK_ISSUED,
            actor=by.name,
            ip=ip,
            proof_id=proof.id,
            user_id=by.id,
        )
    return link


def revoke_share_link(
    session: Session, *, proof: Proof, by: User, ip: str | None, record_activity: bool = True
) -> bool:
    result = session.execute(
        sa.update(ShareLink)
        .where(ShareLink.proof_id == proof.id, ShareLink.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    revoked = bool(rowcount(result))
    if revoked and record_activity:
        activity.record(
            session,
            kind=ActivityKind.SHARE_LINK_REVOKED,
            actor=by.name,
            ip=ip,
            proof_id=proof.id,
            user_id=by.id,
        )
    return revoked


def find_share_link(session: Session, token: str) -> ShareLink | None:
    """The live link for this token; revoked and unknown tokens look the same (None)."""
    if not token or len(token) > 100:
        return None
    return session.scalar(
        sa.select(ShareLink)
        .options(joinedload(ShareLink.proof))
        .where(ShareLink.token_hash == hash_token(token), ShareLink.revoked_at.is_(None))
    )


def record_link_view(
    session: Session, *, proof_id: int, ip: str | None, email_token: str | None = None
) -> None:
    """Someone opened the proof by its share link (through an email's link: it was opened)."""
    activity.record(
        session,
        kind=ActivityKind.SHARE_LINK_VIEWED,
        actor="Share-link visitor",
        ip=ip,
        proof_id=proof_id,
    )
    if email_token:
        record_opened(session, proof_id=proof_id, token=email_token)


def record_portal_view(
    session: Session, *, proof: Proof, customer: Customer, ip: str | None, email_token: str | None
) -> None:
    """A customer logged in to the portal opened the proof (through an email's link: opened)."""
    activity.record(
        session,
        kind=ActivityKind.PROOF_VIEWED,
        actor=customer.name,
        ip=ip,
        proof_id=proof.id,
        customer_id=customer.id,
    )
    if email_token:
        record_opened(session, proof_id=proof.id, token=email_token)


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Enter your name so the designer knows who this is.", "name")
    if len(name) > 200:
        raise ServiceError("Use at most 200 characters for your name.", "name")
    return name


def _clean_body(body: str | None, *, required_message: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ServiceError(required_message, "body")
    if len(body) > MAX_COMMENT:
        raise ServiceError(f"Keep the comment under {MAX_COMMENT} characters.", "body")
    return body


def add_comment(
    session: Session,
    *,
    proof: Proof,
    version: ProofVersion,
    author_name: str | None,
    body: str | None,
    user: User | None = None,
    customer: Customer | None = None,
    ip: str | None,
    pin: Pin | None = None,
    reply_to: int | None = None,
) -> Comment:
    """A comment on a version: a new thread (optionally pinned) or a reply to a thread."""
    name = user.name if user else customer.name if customer else _clean_name(author_name)
    text = _clean_body(body, required_message="Write a comment first.")
    parent = None
    if reply_to is not None:
        parent = thread_root(session, proof=proof, comment_id=reply_to)
        version, pin = parent.version, None
    comment = Comment(
        proof_id=proof.id,
        version_id=version.id,
        author_name=name,
        author_user_id=user.id if user else None,
        author_customer_id=customer.id if customer else None,
        body=text,
        parent_id=parent.id if parent else None,
    )
    if pin is not None:
        comment.page_number, comment.pin_x, comment.pin_y = pin.page, pin.x, pin.y
        comment.pin_w, comment.pin_h = pin.w, pin.h
    if parent is not None and parent.resolved_at is not None:
        parent.resolved_at = parent.resolved_by = None  # a reply reopens the thread
    session.add(comment)
    session.flush()  # the event links to the comment
    proof.last_activity_at = utcnow()
    activity.record(
        session,
        kind=ActivityKind.COMMENT_ADDED,
        actor=name,
        ip=ip,
        proof_id=proof.id,
        user_id=user.id if user else None,
        customer_id=customer.id if customer else None,
        comment_id=comment.id,
        detail=f"{'reply ' if parent else ''}on v{version.number}"
        f"{f', page {pin.page}' if pin else ''}",
    )
    return comment


class Locked(ServiceError):
    def __init__(self) -> None:
        super().__init__("This proof is locked for production; contact the designer.")


def decide(
    session: Session,
    *,
    proof: Proof,
    version: ProofVersion,
    decision: str | None,
    reviewer_name: str | None,
    comment: str | None,
    ip: str | None,
    user_agent: str | None,
    customer: Customer | None = None,
    accepted_terms: bool = False,
    terms: str = "",
) -> Decision:
    """Approve or request changes on the current version, keeping the approval record: the
    file's SHA-256, who, when, from where, and the terms ticked."""
    if decision not in DECISIONS:
        raise ServiceError("Choose approve or request changes.")
    if proof.locked_at is not None:
        raise Locked()
    if version.number != proof.current_version:
        raise ServiceError(
            f"Version {version.number} has been replaced by version "
            f"{proof.current_version}; review the newest version."
        )
    name = customer.name if customer else _clean_name(reviewer_name)
    if decision == DecisionKind.APPROVED and proof.require_terms and not accepted_terms:
        raise ServiceError("Tick the approval terms to approve.", "accept_terms")
    comment_row = None
    if decision == DecisionKind.CHANGES_REQUESTED or (comment or "").strip():
        comment_row = add_comment(
            session,
            proof=proof,
            version=version,
            author_name=name,
            body=_clean_body(
                comment, required_message=("Say what should change, so the designer can fix it.")
            ),
            customer=customer,
            ip=ip,
        )
        session.flush()
    row = Decision(
        proof_id=proof.id,
        version_id=version.id,
        decision=decision,
        reviewer_name=name,
        customer_id=customer.id if customer else None,
        comment_id=comment_row.id if comment_row else None,
        ip=ip,
        user_agent=(user_agent or "")[:300],
        file_sha256=version.sha256,
        terms=terms if decision == DecisionKind.APPROVED and proof.require_terms else None,
    )
    session.add(row)
    proof.status = ProofStatus(decision)
    proof.last_activity_at = utcnow()
    activity.record(
        session,
        kind=DECISION_KINDS[decision],
        actor=name,
        ip=ip,
        proof_id=proof.id,
        customer_id=customer.id if customer else None,
        comment_id=comment_row.id if comment_row else None,
        detail=f"on v{version.number}",
    )
    return row


def withdraw_approval(
    session: Session, *, proof: Proof, reason: str | None, by_name: str, ip: str | None
) -> Decision:
    """Take back the current version's approval, with a reason, until the proof is locked."""
    if proof.locked_at is not None:
        raise Locked()
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why you withdraw the approval.", "reason")
    latest = session.scalar(
        sa.select(Decision)
        .join(Decision.version)
        .where(Decision.proof_id == proof.id, ProofVersion.number == proof.current_version)
        .order_by(Decision.created_at.desc(), Decision.id.desc())
        .limit(1)
    )
    if (
        latest is None
        or latest.decision != DecisionKind.APPROVED
        or latest.withdrawn_at is not None
    ):
        raise ServiceError("There is no approval to withdraw.")
    latest.withdrawn_at, latest.withdrawn_reason = utcnow(), reason[:MAX_COMMENT]
    proof.status = ProofStatus.AWAITING_REVIEW
    proof.last_activity_at = utcnow()
    activity.record(
        session,
        kind=ActivityKind.DECISION_WITHDRAWN,
        actor=by_name,
        ip=ip,
        proof_id=proof.id,
        detail=reason[:200],
    )
    return latest


def lock(session: Session, *, proof: Proof, by: User, locked: bool, ip: str | None) -> None:
    proof.locked_at = utcnow() if locked else None
    proof.locked_by_id = by.id if locked else None
    activity.record(
        session,
        kind=ActivityKind.PROOF_LOCKED if locked else ActivityKind.PROOF_UNLOCKED,
        actor=by.name,
        ip=ip,
        proof_id=proof.id,
        user_id=by.id,
    )


def decisions(session: Session, proof: Proof) -> list[Decision]:
    return list(
        session.scalars(
            sa.select(Decision)
            .options(joinedload(Decision.version))
            .where(Decision.proof_id == proof.id)
            .order_by(Decision.created_at, Decision.id)
        )
    )


def proof_activity(session: Session, proof: Proof, limit: int = 200) -> list[Activity]:
    return list(
        session.scalars(
            sa.select(Activity)
            .where(Activity.proof_id == proof.id)
            .order_by(Activity.at.desc(), Activity.id.desc())
            .limit(limit)
        )
    )
