"""Share links, comments and decisions on a proof."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, joinedload

from proofdesk import activity
from proofdesk.accounts.models import User
from proofdesk.customers.models import Customer
from proofdesk.db import utcnow
from proofdesk.errors import ServiceError
from proofdesk.proofs.models import Activity, Proof, ProofVersion
from proofdesk.review.models import DECISIONS, Comment, Decision, ShareLink
from proofdesk.tokens import derive_token, hash_token, new_token

SHARE_PURPOSE = "share-link"
MAX_COMMENT = 5000


def share_token(link: ShareLink) -> str:
    return derive_token(current_app.config["SECRET_KEY"], SHARE_PURPOSE, link.nonce)


def share_url(link: ShareLink) -> str:
    return f"{current_app.config['BASE_URL']}/s/{share_token(link)}"


def active_share_link(session: Session, proof: Proof) -> ShareLink | None:
    return session.scalar(sa.select(ShareLink).where(ShareLink.proof_id == proof.id,
                                                     ShareLink.revoked_at.is_(None)))


def issue_share_link(
    session: Session, *, proof: Proof, by: User, ip: str | None, record_activity: bool = True
) -> ShareLink:
    """A new link for the proof; any older link stops working."""
    revoke_share_link(session, proof=proof, by=by, ip=ip, record_activity=False)
    link = ShareLink(proof_id=proof.id, nonce=new_token(), created_by_id=by.id, token_hash="")
    link.token_hash = hash_token(share_token(link))
    session.add(link)
    if record_activity:
        activity.record(session, kind="share_link.issued", actor=by.name, ip=ip,
                        proof_id=proof.id, user_id=by.id)
    return link


def revoke_share_link(
    session: Session, *, proof: Proof, by: User, ip: str | None, record_activity: bool = True
) -> bool:
    result = session.execute(
        sa.update(ShareLink)
        .where(ShareLink.proof_id == proof.id, ShareLink.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    revoked = bool(result.rowcount)  # type: ignore[attr-defined]
    if revoked and record_activity:
        activity.record(session, kind="share_link.revoked", actor=by.name, ip=ip,
                        proof_id=proof.id, user_id=by.id)
    return revoked


def find_share_link(session: Session, token: str) -> ShareLink | None:
    """The live link for this token; revoked and unknown tokens look the same (None)."""
    if not token or len(token) > 100:
        return None
    return session.scalar(
        sa.select(ShareLink).options(joinedload(ShareLink.proof))
        .where(ShareLink.token_hash == hash_token(token), ShareLink.revoked_at.is_(None))
    )


def record_link_view(session: Session, *, proof_id: int, ip: str | None) -> None:
    activity.record(session, kind="share_link.viewed", actor="Share-link visitor", ip=ip,
                    proof_id=proof_id)


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
    session: Session, *, proof: Proof, version: ProofVersion, author_name: str | None,
    body: str | None, user: User | None = None, customer: Customer | None = None,
    ip: str | None,
) -> Comment:
    name = user.name if user else customer.name if customer else _clean_name(author_name)
    comment = Comment(proof_id=proof.id, version_id=version.id, author_name=name,
                      author_user_id=user.id if user else None,
                      author_customer_id=customer.id if customer else None,
                      body=_clean_body(body, required_message="Write a comment first."))
    session.add(comment)
    proof.last_activity_at = utcnow()
    activity.record(session, kind="comment.added", actor=name, ip=ip, proof_id=proof.id,
                    user_id=user.id if user else None, detail=f"on v{version.number}")
    return comment


def decide(
    session: Session, *, proof: Proof, version: ProofVersion, decision: str,
    reviewer_name: str | None, comment: str | None, ip: str | None, user_agent: str | None,
    customer: Customer | None = None,
) -> Decision:
    """Approve or request changes on the current version."""
    if decision not in DECISIONS:
        raise ServiceError("Choose approve or request changes.")
    if version.number != proof.current_version:
        raise ServiceError(f"Version {version.number} has been replaced by version "
                           f"{proof.current_version}; review the newest version.")
    name = customer.name if customer else _clean_name(reviewer_name)
    comment_row = None
    if decision == "changes_requested" or (comment or "").strip():
        comment_row = add_comment(session, proof=proof, version=version, author_name=name,
                                  body=_clean_body(comment, required_message=(
                                      "Say what should change, so the designer can fix it.")),
                                  customer=customer, ip=ip)
        session.flush()
    row = Decision(proof_id=proof.id, version_id=version.id, decision=decision,
                   reviewer_name=name, customer_id=customer.id if customer else None,
                   comment_id=comment_row.id if comment_row else None,
                   ip=ip, user_agent=(user_agent or "")[:300])
    session.add(row)
    proof.status = decision
    proof.last_activity_at = utcnow()
    activity.record(session, kind=f"decision.{decision}", actor=name, ip=ip, proof_id=proof.id,
                    detail=f"on v{version.number}")
    return row


def thread(session: Session, proof: Proof) -> list[Comment]:
    return list(session.scalars(
        sa.select(Comment).options(joinedload(Comment.version))
        .where(Comment.proof_id == proof.id).order_by(Comment.created_at, Comment.id)
    ))


def decisions(session: Session, proof: Proof) -> list[Decision]:
    return list(session.scalars(
        sa.select(Decision).options(joinedload(Decision.version))
        .where(Decision.proof_id == proof.id).order_by(Decision.created_at, Decision.id)
    ))


def proof_activity(session: Session, proof: Proof, limit: int = 200) -> list[Activity]:
    return list(session.scalars(
        sa.select(Activity).where(Activity.proof_id == proof.id)
        .order_by(Activity.at.desc(), Activity.id.desc()).limit(limit)
    ))
